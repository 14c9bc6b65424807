import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * start_import {keys} where not one key is in the bucket answers not_found on keys, with a fix, and
 * creates no job (a job announced as queued would only end failed); with one key there the job starts
 * and the missing ones fail in it; canceling it once ended says so, with every count.
 */
let env: S3Env;
let cp: Running;
let id: string;

beforeAll(async () => {
  env = await startS3Env(['keys-missing']);
  await env.s3.put('keys-missing', 'here.txt', 'here');
  cp = await startCloudport({ dataDir: tempDir() });
  id = (await cp.ok('create_connector', env.connector('keys-missing'))).connector.id;
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('start_import with keys the bucket does not hold', () => {
  it('none there: not_found on keys, no job', async () => {
    const r = await cp.call('start_import', { connector_id: id, index: 'keys-missing', keys: ['Here.txt', '/here.txt'] });
    expect(r.isError).toBe(true);
    expect(r.data.error).toMatchObject({ kind: 'not_found', field: 'keys', fix: expect.stringContaining('browse_connector') });
    expect(r.text).toContain('none of the 2 key(s) is in the bucket');
    expect((await cp.ok('list_imports', {})).imports).toHaveLength(0);
  });

  it('one there: the job starts and the missing key fails in it', async () => {
    const r = await cp.ok('start_import', { connector_id: id, index: 'keys-missing', keys: ['here.txt', 'gone.txt'] });
    const s = await waitForJob(cp, r.job_id);
    expect(s.counts).toMatchObject({ ready: 1, failed: 1 });
    // Canceling a job that has ended says so, with every count.
    const c = await cp.call('cancel_import', { job_id: r.job_id });
    expect(c.text.split('\n')[0]).toBe(`${r.job_id} completed_with_errors: already completed_with_errors, nothing canceled: 1 ready, 0 deduped, 0 skipped, 1 failed, 0 pending`);
  });
});
