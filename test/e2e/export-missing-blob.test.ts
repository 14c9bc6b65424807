import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { sha256, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * An export of an item whose stored content is gone from the blob store fails that file with the
 * same message read_item gives ("the stored content of … is missing from the blob store", import it
 * again), never a raw file-system error that shows the server's data directory (a tenant of the HTTP
 * front door must not learn where the operator keeps content) and tells the agent nothing to do.
 */
let env: S3Env;
let cp: Running;
let dataDir: string;

beforeAll(async () => {
  env = await startS3Env(['src', 'dst']);
  await env.s3.put('src', 'a.txt', 'gone soon');
  await env.s3.put('src', 'b.txt', 'stays here');
  dataDir = tempDir();
  cp = await startCloudport({ dataDir });
  const src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i' })).job_id);
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('export of an item whose blob is missing', () => {
  it('fails the file with an actionable message that does not show the data directory', async () => {
    const h = sha256('gone soon');
    fs.rmSync(path.join(dataDir, 'blobs', h.slice(0, 2), h));
    const dst = (await cp.ok('create_connector', { ...env.connector('dst'), scopes: ['export'], export_base_path: 'out' })).connector.id;
    const job = (await cp.ok('start_export', { index: 'i', connector_id: dst })).job_id;
    const final = await waitForJob(cp, job);
    expect(final.counts).toMatchObject({ exported: 1, failed: 1 });
    const failed = await cp.call('import_status', { job_id: job, files_status: 'failed' });
    const logs = await cp.call('import_logs', { job_id: job });
    for (const text of [failed.text, logs.text]) {
      expect(text).not.toContain(dataDir);
      expect(text).not.toMatch(/ENOENT/);
      expect(text).toMatch(/missing from the blob store/);
    }
  });
});
