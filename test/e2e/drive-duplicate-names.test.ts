import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * Where names repeat in one Drive folder, the oldest file (by creation time) keeps the plain key and
 * each other one gets its id before the extension. A newer duplicate leaves the keys as they were; an
 * older one that appears (restored from the trash) takes the plain key, the file that held it moves to
 * the key with its id, and a new_only import brings both under those keys.
 */
describe('google_drive: keys of same-named files in one folder', () => {
  let drive: any;
  let cp: Running;
  let conn: string;
  let root: string;
  let older: string;
  let current: string;
  let newer: string;
  beforeAll(async () => {
    drive = await startDriveServer();
    const json = driveServiceAccount(drive, 'importer@test.iam.gserviceaccount.com');
    root = drive.addFolder({ name: 'dups' });
    older = drive.addFile({ name: 'report.txt', parent: root, data: 'OLD DRAFT', createdTime: '2020-01-01T00:00:00.000Z' });
    drive.trash(older);
    current = drive.addFile({ name: 'report.txt', parent: root, data: 'CURRENT REPORT', createdTime: '2024-01-01T00:00:00.000Z' });
    cp = await startCloudport({ dataDir: tempDir() });
    conn = (await cp.ok('create_connector', { name: 'dups', provider: 'google_drive', root_folder_id: root, endpoint: drive.url, credentials: { type: 'service_account', json } })).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  const keys = async () => (await cp.ok('list_index_items', { index: 'dups' })).items.map((i: { key: string }) => i.key).sort();
  const text = async (key: string) => (await cp.call('read_item', { index: 'dups', key })).text;

  it('a newer duplicate gets its id and the plain key keeps its file', async () => {
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 'dups' })).job_id);
    expect(await keys()).toEqual(['report.txt']);
    newer = drive.addFile({ name: 'report.txt', parent: root, data: 'NEWER COPY', createdTime: '2025-01-01T00:00:00.000Z' });
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 'dups', import_mode: 'new_only' })).job_id);
    expect(await keys()).toEqual(['report.txt', `report (${newer}).txt`].sort());
    expect(await text('report.txt')).toContain('CURRENT REPORT');
    expect(await text(`report (${newer}).txt`)).toContain('NEWER COPY');
  });

  it('an older file restored from the trash takes the plain key; the file that held it moves to its id key', async () => {
    drive.trash(older, false);
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 'dups', import_mode: 'new_only' })).job_id);
    expect(await keys()).toEqual(['report.txt', `report (${current}).txt`, `report (${newer}).txt`].sort());
    expect(await text('report.txt')).toContain('OLD DRAFT');
    expect(await text(`report (${current}).txt`)).toContain('CURRENT REPORT');
  });
});
