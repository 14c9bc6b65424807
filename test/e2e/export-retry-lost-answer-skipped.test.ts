import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, allFiles, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * README "Exports": a file tried again "counts as `exported` when its target holds the item's exact
 * content (most often the earlier attempt wrote it before its answer was lost)"; `skipped` is for "the
 * object exists and `overwrite` says keep it". When the answer to a write is lost (the connection drops
 * after the service stored the file) the write is tried again in the same process; with overwrite
 * "never" that try finds the file the export just wrote, holding the item's content: exported.
 * A loopback proxy in front of the Drive server forwards the first file upload, then drops the
 * connection instead of passing the answer on.
 */
function dropFirstUploadAnswer(upstream: string): Promise<{ url: string; dropped: () => number; close(): void }> {
  const up = new URL(upstream);
  let dropped = 0;
  const server = http.createServer((req, res) => {
    const p = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      if (req.method === 'POST' && req.url!.startsWith('/upload/drive/v3/files') && dropped === 0) {
        dropped++;
        r.resume();
        r.on('end', () => res.socket?.destroy());
        return;
      }
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    p.on('error', () => res.destroy());
    req.pipe(p);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, dropped: () => dropped, close: () => server.close() })));
}

describe('export write whose answer was lost, retried with overwrite "never"', () => {
  let drive: any;
  let env: S3Env;
  let cp: Running;
  let proxy: Awaited<ReturnType<typeof dropFirstUploadAnswer>>;
  beforeAll(async () => {
    drive = await startDriveServer();
    env = await startS3Env(['src']);
    proxy = await dropFirstUploadAnswer(drive.url);
  });
  afterAll(async () => {
    await cp?.close();
    proxy?.close();
    await drive?.stop();
    await env?.stop();
  });

  it('counts the file exported (its target holds exactly its content), not skipped', async () => {
    await env.s3.put('src', 'report.txt', 'quarterly numbers');
    cp = await startCloudport({ dataDir: tempDir() });
    const src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i' })).job_id);
    const json = driveServiceAccount(drive, 'exporter@test.iam.gserviceaccount.com');
    const root = drive.addFolder({ name: 'dst' });
    const dst = (await cp.ok('create_connector', { name: 'dst', provider: 'google_drive', root_folder_id: root, endpoint: proxy.url, credentials: { type: 'service_account', json }, scopes: ['export'], validate: false })).connector.id;
    const ex = await cp.ok('start_export', { index: 'i', connector_id: dst });
    const fin = await waitForJob(cp, ex.job_id);
    expect(proxy.dropped()).toBe(1);
    const inDrive = drive.children(root).map((id: string) => drive.file(id)).map((f: any) => [f.name, f.data.toString()]);
    expect(inDrive).toEqual([['report.txt', 'quarterly numbers']]);
    expect(fin.counts, JSON.stringify(await allFiles(cp, ex.job_id))).toMatchObject({ exported: 1, skipped: 0, failed: 0 });
    expect(fin.status).toBe('completed');
  });
});
