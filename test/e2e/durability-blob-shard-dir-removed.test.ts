import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob } from '../helpers/cloudport.js';
import { sha256, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Blob shard directories (`blobs/ab/`) removed under a running server (an operator freeing space, a
 * partial restore) do not make every later import of content in those shards fail with a raw
 * "storing the content failed: ENOENT": the server makes a shard directory again when it is gone, as
 * it does for its temp directories (incoming/N). Content of the removed shards is lost and said so
 * by read_item; new imports are stored.
 */
let env: S3Env;

describe('blob shard directories removed while the server runs', () => {
  beforeAll(async () => {
    env = await startS3Env(['shard-gone']);
    for (let i = 0; i < 6; i++) await env.s3.put('shard-gone', `old/${i}.txt`, `old content ${i}`);
    // Each new content falls in the shard of an old one (the same first two hex digits of its SHA-256).
    for (let i = 0; i < 6; i++) {
      const shard = sha256(`old content ${i}`).slice(0, 2);
      let n = 0;
      while (sha256(`new content ${i} ${n}`).slice(0, 2) !== shard) n++;
      await env.s3.put('shard-gone', `new/${i}.txt`, `new content ${i} ${n}`);
    }
  });
  afterAll(async () => env?.stop());

  it('new content is still stored', async () => {
    const dataDir = tempDir();
    const cp = await startCloudport({ dataDir });
    try {
      const c = (await cp.ok('create_connector', env.connector('shard-gone'))).connector.id;
      const first = await waitForJob(cp, (await cp.ok('start_import', { connector_id: c, index: 'first', prefix: 'old/' })).job_id);
      expect(first.counts.ready).toBe(6);
      // Every shard directory goes; the blob store's marker stays.
      const blobs = path.join(dataDir, 'blobs');
      for (const d of fs.readdirSync(blobs)) if (fs.statSync(path.join(blobs, d)).isDirectory()) fs.rmSync(path.join(blobs, d), { recursive: true });
      const job = await cp.ok('start_import', { connector_id: c, index: 'second', prefix: 'new/' });
      const s = await waitForJob(cp, job.job_id);
      const failed = (await cp.ok('import_status', { job_id: job.job_id, files_status: 'failed', limit: 10 })).files as { key: string; error: string }[];
      expect(failed.map((f) => `${f.key}: ${f.error}`)).toEqual([]);
      expect(s).toMatchObject({ status: 'completed', counts: { ready: 6, failed: 0 } });
      const read = await cp.call('read_item', { index: 'second', key: 'new/3.txt' });
      expect(read.isError).toBe(false);
      expect(read.text).toContain('new content 3');
    } finally {
      await cp.close();
    }
  });
});
