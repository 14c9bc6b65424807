import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * A google_drive connector whose token endpoint cannot be reached (connection refused) is refused as
 * README says of any endpoint that cannot be reached: kind config_invalid with temporary: true, on the
 * credentials field that carries the endpoint (credentials.json, whose token_uri it is) with a fix,
 * as the storage endpoint's refusal is (not kind "unexpected").
 */
describe('google_drive: unreachable token endpoint', () => {
  let drive: any;
  let cp: Running;
  beforeAll(async () => {
    drive = await startDriveServer();
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  it('a refused token_uri is config_invalid and temporary, like a refused endpoint', async () => {
    const root = drive.addFolder({ name: 'r' });
    drive.addFile({ name: 'a.txt', parent: root, data: 'x' });
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const json = JSON.stringify({ type: 'service_account', client_email: 'qa-tok@test.iam.gserviceaccount.com', private_key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), token_uri: 'http://127.0.0.1:1/token' });
    const r = await cp.call('create_connector', { name: uniqueName(), provider: 'google_drive', root_folder_id: root, endpoint: drive.url, credentials: { type: 'service_account', json } });
    expect(r.isError).toBe(true);
    expect(r.data.error, r.text).toMatchObject({ kind: 'config_invalid', temporary: true, field: 'credentials.json' });
    expect(r.data.error.fix).toBeTruthy();
  });
});
