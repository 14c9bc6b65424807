import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
import { delayProxy } from '../helpers/gcs-fixtures.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * README "Exports": overwrite "never" (the default) keeps an existing object ("a HEAD, then a
 * create-only write"), and a file ends "skipped" when "the object exists and overwrite says keep it".
 * Two exports of the same items to one google_drive folder at the same time (an export automation's run
 * and a start_export, or an agent's retry without idempotency_key) leave one Drive file per path, and the
 * 20 items count as exported once across both jobs: after a create, the oldest file of the name is the
 * one and a newer one is removed. A loopback proxy in front of the Drive server holds each file creation
 * for 500 ms (a distant service), so both jobs look for each file before either has created it.
 */
describe('google_drive: concurrent exports with overwrite "never"', () => {
  let drive: any;
  let env: S3Env;
  let cp: Running;
  let proxy: Awaited<ReturnType<typeof delayProxy>>;
  beforeAll(async () => {
    drive = await startDriveServer();
    env = await startS3Env(['src']);
    proxy = await delayProxy(drive.url, { delay: 500, when: (req) => req.method === 'POST' && req.url!.startsWith('/upload/drive/v3/files') });
  });
  afterAll(async () => {
    await cp?.close();
    await proxy?.stop();
    await drive?.stop();
    await env?.stop();
  });

  it('leave one Drive file per path, not one per job', async () => {
    for (let i = 0; i < 20; i++) await env.s3.put('src', `c/${String(i).padStart(2, '0')}.txt`, `content ${i}`);
    cp = await startCloudport({ dataDir: tempDir() });
    const src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i' })).job_id);
    const json = driveServiceAccount(drive, 'exporter@test.iam.gserviceaccount.com');
    const root = drive.addFolder({ name: 'dst' });
    const dst = (await cp.ok('create_connector', { name: 'dst', provider: 'google_drive', root_folder_id: root, endpoint: proxy.endpoint, credentials: { type: 'service_account', json }, scopes: ['export'] })).connector.id;

    const [a, b] = await Promise.all([cp.ok('start_export', { index: 'i', connector_id: dst }), cp.ok('start_export', { index: 'i', connector_id: dst })]);
    const fa = await waitForJob(cp, a.job_id);
    const fb = await waitForJob(cp, b.job_id);

    const kids = (id: string) => drive.children(id).map((x: string) => drive.file(x));
    const folders = kids(root).filter((f: any) => f.name === 'c');
    expect(folders).toHaveLength(1);
    const names = kids(folders[0].id).map((f: any) => f.name).sort();
    expect(names, 'Drive files under c/').toEqual(Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}.txt`));
    expect(fa.counts.exported + fb.counts.exported, `${JSON.stringify(fa.counts)} ${JSON.stringify(fb.counts)}`).toBe(20);
    expect(fa.counts.skipped + fb.counts.skipped).toBe(20);
  });
});
