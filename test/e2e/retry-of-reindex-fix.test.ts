import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * An agent gives start_import {retry_of} a job id of the wrong kind: a reindex job (rdx_…). The error
 * names the right next step for that kind (reindex_index again), not the export's start_export.
 */
describe('start_import retry_of a reindex job', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['rdx-bkt']);
    await env.s3.put('rdx-bkt', 'a.txt', 'alpha');
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('answers with a fix that fits a reindex job, not start_export', async () => {
    const cid = (await cp.ok('create_connector', env.connector('rdx-bkt'))).connector.id;
    const job = (await cp.ok('start_import', { connector_id: cid, index: 'r' })).job_id;
    await cp.ok('import_status', { job_id: job, wait_seconds: 30 });
    const rdx = (await cp.ok('reindex_index', { index: 'r', all: true })).job_id as string;
    expect(rdx).toMatch(/^rdx_/);
    const r = await cp.call('start_import', { retry_of: rdx });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/\[retry_of\]/);
    expect(r.text).not.toMatch(/is an reindex/);
    // The fix must not send the agent to start_export for a job that exported nothing.
    expect(r.text).not.toMatch(/start_export/);
    expect(r.text).toMatch(/reindex_index/);
  });
});
