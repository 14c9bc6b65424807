import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
import { makeDocx } from '../helpers/documents.js';
import { uniqueName } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/**
 * start_export over a Drive folder where the target path is a Google Doc (listed as "Report.docx"):
 * cloudport never overwrites Google files, so with overwrite "never" the file's note does not tell the
 * agent that overwrite "if_changed" or "always" replaces it (those runs fail that file with "cloudport
 * does not overwrite those"); it names the Google file, as the other modes do.
 */
describe('google_drive export onto a Google Doc with overwrite "never"', () => {
  let drive: any;
  let cp: Running;
  let json: string;
  beforeAll(async () => {
    drive = await startDriveServer();
    json = driveServiceAccount(drive, 'qa-exp@test.iam.gserviceaccount.com');
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  it('does not suggest an overwrite mode that cannot replace a Google file', async () => {
    const src = drive.addFolder({ name: 'src' });
    drive.addFile({ name: 'Report.docx', parent: src, data: makeDocx(['uploaded report']) });
    const dst = drive.addFolder({ name: 'dst' });
    const out = drive.addFolder({ name: 'out', parent: dst });
    drive.addNative({ name: 'Report', parent: out, kind: 'document', exports: { [DOCX]: makeDocx(['native report']) } });
    const cs = (await cp.ok('create_connector', { name: uniqueName(), provider: 'google_drive', root_folder_id: src, endpoint: drive.url, credentials: { type: 'service_account', json } })).connector.id;
    const index = uniqueName('exn');
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: cs, index })).job_id);
    const cd = (await cp.ok('create_connector', { name: uniqueName(), provider: 'google_drive', root_folder_id: dst, endpoint: drive.url, credentials: { type: 'service_account', json }, scopes: ['import', 'export'], export_base_path: 'out' })).connector.id;

    const never = await cp.ok('start_export', { index, connector_id: cd, overwrite: 'never' });
    await waitForJob(cp, never.job_id);
    const s = await cp.ok('import_status', { job_id: never.job_id, files_status: 'all' });
    const file = s.files.find((f: any) => f.key === 'Report.docx');
    expect(file.error, JSON.stringify(file)).not.toMatch(/"if_changed" or "always" replaces it/);
    expect(file.error, JSON.stringify(file)).toMatch(/Google/);

    // What the suggested mode does: the file fails, the Google Doc stays.
    const always = await cp.ok('start_export', { index, connector_id: cd, overwrite: 'always' });
    await waitForJob(cp, always.job_id);
    const s2 = await cp.ok('import_status', { job_id: always.job_id, files_status: 'all' });
    expect(s2.files.find((f: any) => f.key === 'Report.docx').status).toBe('failed');
  });
});
