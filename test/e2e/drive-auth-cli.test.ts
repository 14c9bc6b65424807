import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir } from '../helpers/cloudport.js';
// @ts-expect-error plain JS test support
import { startDriveServer, SCOPES } from '../support/drive-server.mjs';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli.js');

/** Runs `cloudport auth google-drive …`, plays the browser (follows the consent redirect back to the CLI's listener), and answers its output. */
async function consentViaCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'auth', 'google-drive', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  let browsed = false;
  child.stderr.on('data', async (d) => {
    stderr += d;
    const url = /(http:\/\/127\.0\.0\.1:\d+\/o\/oauth2\/v2\/auth\?\S+)/.exec(stderr)?.[1];
    if (url && !browsed) {
      browsed = true;
      const consent = await fetch(url, { redirect: 'manual' });
      const back = consent.headers.get('location');
      if (back) await (await fetch(back)).text();
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stdout, stderr };
}

describe('cloudport auth google-drive (loopback consent flow)', () => {
  let drive: any;
  beforeAll(async () => {
    drive = await startDriveServer();
    drive.addRefreshToken({ clientId: 'desktop-client.apps.example', clientSecret: 'client-secret-1', refreshToken: 'unused', scopes: [SCOPES.readonly] });
    drive.addFile({ name: 'hello.txt', data: 'hello drive' });
  });
  afterAll(async () => drive?.stop());

  it('prints a refresh token that an oauth connector then uses; drive.readonly unless --write', async () => {
    const r = await consentViaCli(['--client-id', 'desktop-client.apps.example', '--client-secret', 'client-secret-1', '--auth-uri', drive.authUrl, '--token-uri', drive.tokenUrl]);
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim().split('\n').pop()!;
    expect(token).toMatch(/^1\/\//);
    expect(r.stderr).toContain('"refresh_token": {"env": "GDRIVE_REFRESH_TOKEN"}');
    expect(r.stderr).not.toContain(token);
    expect(drive.consents.at(-1)).toMatchObject({ scopes: [SCOPES.readonly], accessType: 'offline', prompt: 'consent' });

    // The refresh token posts to Google's own token URL unless token_uri names the one that issued it
    // (as --token-uri did): a connector made as the CLI's output says, over stdio, reads the folder.
    const cp = await startCloudport({ dataDir: tempDir(), env: { GDRIVE_REFRESH_TOKEN: token } });
    try {
      const creds = { type: 'oauth', client_id: 'desktop-client.apps.example', client_secret: 'client-secret-1', refresh_token: { env: 'GDRIVE_REFRESH_TOKEN' }, token_uri: drive.tokenUrl };
      const { connector } = await cp.ok('create_connector', { name: 'my-drive', provider: 'google_drive', endpoint: drive.url, credentials: creds });
      expect(connector.location).toMatchObject({ token_uri: drive.tokenUrl });
      const b = await cp.ok('browse_connector', { connector_id: connector.id });
      expect(b.objects.map((o: { key: string }) => o.key)).toEqual(['hello.txt']);
      // Plain http elsewhere than on this machine would carry the client secret and the token in clear.
      const r = await cp.call('create_connector', { name: 'clear', provider: 'google_drive', endpoint: drive.url, validate: false, credentials: { ...creds, token_uri: 'http://example.test/token' } });
      expect(r.isError).toBe(true);
      expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: 'credentials.token_uri' });
    } finally {
      await cp.close();
    }
  });

  it('--write asks for the drive scope and --out writes the token to a 0600 file (an existing one too)', async () => {
    const out = path.join(tempDir(), 'drive-token');
    fs.writeFileSync(out, 'old\n', { mode: 0o644 });
    const r = await consentViaCli(['--client-id', 'desktop-client.apps.example', '--client-secret', 'client-secret-1', '--write', '--out', out, '--auth-uri', drive.authUrl, '--token-uri', drive.tokenUrl]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(fs.readFileSync(out, 'utf8').trim()).toMatch(/^1\/\//);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    expect(r.stderr).toContain(`"refresh_token": {"file":${JSON.stringify(out)}}`);
    expect(drive.consents.at(-1).scopes).toEqual([SCOPES.drive]);
  });

  it('a wrong client secret fails with a fix naming the OAuth client, and missing flags are usage errors', async () => {
    const r = await consentViaCli(['--client-id', 'desktop-client.apps.example', '--client-secret', 'wrong', '--auth-uri', drive.authUrl, '--token-uri', drive.tokenUrl]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/refused the code \(invalid_client\)/);
    const plain = await consentViaCli(['--client-id', 'x', '--client-secret', 'y', '--token-uri', 'http://example.test/token']);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toContain('--token-uri must be an https URL');
    const missing = await consentViaCli([]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('--client-id');
  });
});
