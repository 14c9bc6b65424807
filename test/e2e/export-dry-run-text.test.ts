import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * start_export {dry_run: true} on an index of more than 1000 items creates no job, so its text does not
 * say that a listing continues: it says the count is of the first pages, and that a job would list the
 * rest (an agent reads only the text).
 */
let env: S3Env;
let cp: Running;
let dst: string;

beforeAll(async () => {
  env = await startS3Env(['src', 'dst']);
  await Promise.all(Array.from({ length: 1001 }, (_, i) => env.s3.put('src', `k/${String(i).padStart(5, '0')}.txt`, `c${i}`)));
  cp = await startCloudport({ dataDir: tempDir() });
  const src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
  dst = (await cp.ok('create_connector', { ...env.connector('dst'), scopes: ['export'], export_base_path: 'out' })).connector.id;
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i' })).job_id, 120_000);
}, 180_000);
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('start_export dry_run text', () => {
  it('does not claim that a listing continues when no job exists', async () => {
    const r = await cp.call('start_export', { index: 'i', connector_id: dst, dry_run: true });
    expect(r.isError).toBe(false);
    expect(r.data.job_id).toBeNull();
    expect(r.text.split('\n')[0]).not.toContain('listing continues');
  });
});
