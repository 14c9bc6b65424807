import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * start_import {retry_of} over a job whose failed files are all still missing from the bucket answers an
 * error on the argument the caller gave, retry_of (the caller sent no keys), and its fix speaks of that
 * job's failed files, not of "keys" the caller should spell differently.
 */
let env: S3Env;
let cp: Running;
beforeAll(async () => {
  env = await startS3Env(['retrybk']);
  await env.s3.put('retrybk', 'a.txt', 'alpha');
  cp = await startCloudport({ dataDir: tempDir() });
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

it('names retry_of, not keys, when the failed files of the job are still not in the bucket', async () => {
  const id = (await cp.ok('create_connector', env.connector('retrybk'))).connector.id;
  const job = await cp.ok('start_import', { connector_id: id, index: 'r', keys: ['a.txt', 'gone.txt'] });
  const final = await waitForJob(cp, job.job_id);
  expect(final.counts.failed).toBe(1);

  const r = await cp.call('start_import', { retry_of: job.job_id });
  expect(r.isError).toBe(true);
  expect(r.data.error.field).toBe('retry_of');
  // The fix must not send the agent to fix a keys argument it never gave.
  expect(r.data.error.fix).not.toMatch(/Keys are exact/);
  expect(r.text).toContain(job.job_id);
});
