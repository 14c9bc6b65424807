import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIVE_SCOPES, refreshTokens, serviceAccountTokens } from '../../src/providers/google-drive/auth.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/** Service-account and refresh-token exchanges against our loopback Drive server's token endpoint. */
describe('Google Drive tokens', () => {
  let drive: { url: string; tokenUrl: string; stop(): Promise<void>; addServiceAccount(o: object): void; addRefreshToken(o: object): void; revokeRefreshToken(t: string): void };
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const about = (token: string) => fetch(`${drive.url}/drive/v3/about?fields=user`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    drive = await startDriveServer();
    drive.addServiceAccount({ email: 'sa@proj.iam.gserviceaccount.com', publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: 'k1', subjects: ['alice@example.com'] });
    drive.addRefreshToken({ clientId: 'cid', clientSecret: 'csecret', refreshToken: 'rt-1', scopes: [DRIVE_SCOPES.read] });
  });
  afterAll(async () => {
    await drive?.stop();
  });

  it('a service account key gets a token from its token_uri, cached, and it opens the API; impersonation needs delegation', async () => {
    const key = { client_email: 'sa@proj.iam.gserviceaccount.com', private_key: pem, private_key_id: 'k1', token_uri: drive.tokenUrl };
    const held: string[] = [];
    const src = serviceAccountTokens(key, [DRIVE_SCOPES.read], { holdSecrets: (...v) => held.push(...v) });
    const [a, b] = await Promise.all([src.token(), src.token()]);
    expect(a).toBe(b);
    expect(held).toEqual([a]);
    expect((await about(a)).status).toBe(200);
    const as = serviceAccountTokens(key, [DRIVE_SCOPES.read], { subject: 'alice@example.com' });
    expect((await about(await as.token())).status).toBe(200);
    const refused = serviceAccountTokens(key, [DRIVE_SCOPES.read], { subject: 'mallory@example.com' });
    await expect(refused.token()).rejects.toMatchObject({ kind: 'permission_denied', field: 'credentials.subject' });
    const wrong = serviceAccountTokens({ ...key, private_key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }, [DRIVE_SCOPES.read]);
    await expect(wrong.token()).rejects.toMatchObject({ kind: 'permission_denied', field: 'credentials.json' });
    await expect(serviceAccountTokens({ ...key, private_key: 'not a key' }, [DRIVE_SCOPES.read]).token()).rejects.toMatchObject({ kind: 'config_invalid', field: 'credentials.json' });
  });

  it('a refresh token gets a token; a revoked one says how to get a new one', async () => {
    const c = { client_id: 'cid', client_secret: 'csecret', refresh_token: 'rt-1', token_uri: drive.tokenUrl };
    expect((await about(await refreshTokens(c).token())).status).toBe(200);
    await expect(refreshTokens({ ...c, client_secret: 'wrong' }).token()).rejects.toMatchObject({ kind: 'permission_denied', field: 'credentials.client_secret' });
    drive.revokeRefreshToken('rt-1');
    const err = await refreshTokens(c).token().catch((e) => e);
    expect(err).toMatchObject({ kind: 'permission_denied', field: 'credentials.refresh_token' });
    expect(err.fix).toContain('cloudport auth google-drive');
  });
});
