import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, allFiles, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * "%" in a Drive name is escaped in its key: the file "50% off.txt" has the key "50%25 off.txt".
 * start_import {keys} also takes the name as Drive shows it, and stores the file under the key the
 * listing gives it, so one Drive file is one item and a later new_only import skips it. Both spellings
 * in one call are one file of the job.
 */
describe('google_drive: explicit keys with a literal "%"', () => {
  let drive: any;
  let cp: Running;
  let conn: string;
  beforeAll(async () => {
    drive = await startDriveServer();
    const json = driveServiceAccount(drive, 'importer@test.iam.gserviceaccount.com');
    const root = drive.addFolder({ name: 'pct' });
    drive.addFile({ name: '50% off.txt', parent: root, data: 'sale' });
    cp = await startCloudport({ dataDir: tempDir() });
    conn = (await cp.ok('create_connector', { name: 'pct', provider: 'google_drive', root_folder_id: root, endpoint: drive.url, credentials: { type: 'service_account', json } })).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  it('the unescaped name imports under the listed key, and new_only skips it afterwards', async () => {
    const byKey = await cp.ok('start_import', { connector_id: conn, index: 'pct', keys: ['50% off.txt'] });
    expect(await waitForJob(cp, byKey.job_id)).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    expect((await cp.ok('list_index_items', { index: 'pct' })).items.map((i: { key: string }) => i.key)).toEqual(['50%25 off.txt']);
    const again = await cp.ok('start_import', { connector_id: conn, index: 'pct', import_mode: 'new_only' });
    await waitForJob(cp, again.job_id);
    expect((await cp.ok('list_index_items', { index: 'pct' })).items.map((i: { key: string }) => i.key)).toEqual(['50%25 off.txt']);
    expect((await allFiles(cp, again.job_id)).map((f) => f.status)).toEqual(['skipped']);
  });

  it('both spellings of one key in one call are one file', async () => {
    const both = await cp.ok('start_import', { connector_id: conn, index: 'both', keys: ['50% off.txt', '50%25 off.txt'] });
    expect(both.accepted).toBe(1);
    expect(await waitForJob(cp, both.job_id)).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    expect((await cp.ok('list_index_items', { index: 'both' })).items.map((i: { key: string }) => i.key)).toEqual(['50%25 off.txt']);
  });
});
