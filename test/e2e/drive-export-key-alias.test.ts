import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, allFiles, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * Two different items of an index (imported from S3, where "%" is an ordinary character) whose keys
 * google_drive reads as one name: "p/50% off.txt" and "p/50%25 off.txt" both name the Drive file
 * "50% off.txt". README "Exports": two items that render one path "do not both count as exported: the
 * later one in key order fails, saying so"; the Drive folder holds the first item's bytes.
 */
describe('google_drive export: two keys that name one Drive file', () => {
  let drive: any;
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    drive = await startDriveServer();
    env = await startS3Env(['src']);
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
    await env?.stop();
  });

  it('does not count both as exported when Drive keeps one of them', async () => {
    await env.s3.put('src', 'p/50% off.txt', 'literal percent');
    await env.s3.put('src', 'p/50%25 off.txt', 'escaped percent');
    cp = await startCloudport({ dataDir: tempDir(), args: ['--workers', '1'] });
    const src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i' })).job_id);
    const json = driveServiceAccount(drive, 'exporter@test.iam.gserviceaccount.com');
    const root = drive.addFolder({ name: 'dst' });
    const dst = (await cp.ok('create_connector', { name: 'dst', provider: 'google_drive', root_folder_id: root, endpoint: drive.url, credentials: { type: 'service_account', json }, scopes: ['export'] })).connector.id;
    const ex = await cp.ok('start_export', { index: 'i', connector_id: dst, overwrite: 'always' });
    const fin = await waitForJob(cp, ex.job_id);
    const kids = (id: string) => drive.children(id).map((x: string) => drive.file(x));
    const p = kids(root).find((f: any) => f.name === 'p');
    const inDrive = kids(p.id).map((f: any) => [f.name, f.data.toString()]);
    const files = await allFiles(cp, ex.job_id);
    // Drive can hold one of them under that name: the other is not "exported".
    expect(inDrive).toHaveLength(1);
    expect(fin.counts, `${JSON.stringify(files)} Drive: ${JSON.stringify(inDrive)}`).toMatchObject({ exported: 1, failed: 1 });
    expect(inDrive).toEqual([['50% off.txt', 'literal percent']]);
    const failed = (await cp.ok('import_status', { job_id: ex.job_id, files_status: 'failed' })).files;
    expect(failed.map((f: any) => [f.key, f.error])).toEqual([['p/50%25 off.txt', expect.stringMatching(/names the same file as p\/50% off.txt's/)]]);
  });
});
