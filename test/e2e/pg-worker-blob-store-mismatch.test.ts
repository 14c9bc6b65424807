import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnReady, tempDir } from '../helpers/cloudport.js';
import { connectHttp, startHttpServer } from '../helpers/http.js';
import { pgSchema } from '../helpers/pg.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Scale-out misconfiguration: an HTTP front door (--workers 0) and a `cloudport worker` on one PostgreSQL
 * database, the worker started with a data dir of its own and no --blob-store, so the content it would
 * import lands in <its data dir>/blobs, where the front door cannot read it. The README says every
 * process needs the same --blob-store; the worker refuses to start, naming --blob-store (the database
 * records the id of the blob store that holds its content, and the worker's holds none).
 */
const pg = pgSchema('qa_pgb_mismatch');
const MASTER = randomBytes(32).toString('base64');

describe('front door and worker with different local blob stores on one PostgreSQL', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['mm-src']);
    for (let i = 0; i < 3; i++) await env.s3.put('mm-src', `f/${i}.txt`, `file number ${i}`, { contentType: 'text/plain' });
  });
  afterAll(async () => env?.stop());

  it('is detected at the worker\'s start or reported clearly by read_item', async () => {
    const frontDir = tempDir();
    const workerDir = tempDir();
    const common = ['--database-url', pg.url(), '--allow-private-endpoints'];
    const fd = await startHttpServer(frontDir, ['--workers', '0', ...common], { CLOUDPORT_MASTER_KEY: MASTER });
    pg.procs.push(fd.proc);
    try {
      const k = await runCli(['keys', 'create', '--org', 'acme', '--data-dir', frontDir, '--database-url', pg.url()], { CLOUDPORT_MASTER_KEY: MASTER });
      const key = k.stdout.trim().split('\n').pop()!;
      const worker = await spawnReady(['worker', '--data-dir', workerDir, '--workers', '2', ...common], { CLOUDPORT_MASTER_KEY: MASTER }, 'cloudport worker ready', { track: (p) => pg.procs.push(p) }).catch((e: Error) => e);
      if (worker instanceof Error) {
        // Detected at start: the refusal names the blob store.
        expect(worker.message).toMatch(/blob.store/i);
        return;
      }
      const c = await connectHttp(fd.url, key);
      try {
        const cid = (await c.ok('create_connector', env.connector('mm-src'))).connector.id;
        const job = await c.ok('start_import', { connector_id: cid, index: 'x' });
        await c.ok('import_status', { job_id: job.job_id, wait_seconds: 30 });
        const s = await c.ok('import_status', { job_id: job.job_id });
        expect(s.status).toBe('completed');
        // The content is in the worker's own data dir, not where the front door reads.
        expect(fs.readdirSync(path.join(workerDir, 'blobs')).length).toBeGreaterThan(0);
        const r = await c.call('read_item', { index: 'x', key: 'f/1.txt', raw: true });
        if (!r.isError) return; // the front door found the content after all
        expect(r.text).toMatch(/blob.store/i);
        expect(r.text).not.toMatch(/Import the item again/);
      } finally {
        await c.close();
        worker.proc.kill('SIGTERM');
        await worker.exited;
      }
    } finally {
      await fd.stop();
    }
  }, 90_000);
});
