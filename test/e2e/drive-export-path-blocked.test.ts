import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * An export with overwrite "never" counts a file skipped only when its target already exists. A path
 * google_drive cannot take (a file named like a folder of the key: "Reports" is a file, so
 * "Reports/q3.pdf" cannot be written) is a conflict too, but nothing is there to keep: the file fails
 * with the reason, and the job says so.
 */
describe('google_drive export onto a path Drive cannot take', () => {
  let drive: any;
  let cp: Running;
  let dst: string;
  beforeAll(async () => {
    drive = await startDriveServer();
    const json = driveServiceAccount(drive, 'exporter@test.iam.gserviceaccount.com');
    const srcRoot = drive.addFolder({ name: 'src' });
    drive.addFile({ name: 'q3.pdf', parent: drive.addFolder({ name: 'Reports', parent: srcRoot }), data: 'q3 numbers' });
    drive.addFile({ name: 'notes.txt', parent: srcRoot, data: 'kept notes' });
    const dstRoot = drive.addFolder({ name: 'dst' });
    drive.addFile({ name: 'Reports', parent: dstRoot, data: 'a file, not a folder' });
    drive.addFile({ name: 'notes.txt', parent: dstRoot, data: 'already there' });
    cp = await startCloudport({ dataDir: tempDir() });
    const creds = { type: 'service_account', json };
    const src = (await cp.ok('create_connector', { name: 'src', provider: 'google_drive', root_folder_id: srcRoot, endpoint: drive.url, credentials: creds })).connector.id;
    dst = (await cp.ok('create_connector', { name: 'dst', provider: 'google_drive', root_folder_id: dstRoot, endpoint: drive.url, credentials: creds, scopes: ['import', 'export'] })).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'reports' })).job_id);
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  it('the blocked file fails with the reason; the file whose target exists is skipped', async () => {
    const exp = await cp.ok('start_export', { index: 'reports', connector_id: dst });
    const s = await waitForJob(cp, exp.job_id);
    expect(s.counts, JSON.stringify(s)).toMatchObject({ exported: 0, skipped: 1, failed: 1 });
    const failed = await cp.ok('import_status', { job_id: exp.job_id, files_status: 'failed' });
    expect(failed.files.map((f: { key: string }) => f.key)).toEqual(['Reports/q3.pdf']);
    expect(failed.files[0].error).toMatch(/not a folder/);
    const skipped = await cp.ok('import_status', { job_id: exp.job_id, files_status: 'skipped' });
    expect(skipped.files.map((f: { key: string }) => f.key)).toEqual(['notes.txt']);
  });
});
