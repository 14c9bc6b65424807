import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * An export whose targets already exist ends with its files `skipped` under overwrite "never" (the
 * default). An agent that reads "0 exported, 2 skipped" must learn from the result why and how to
 * write them anyway: each skipped file says that the object already exists and that overwrite
 * "if_changed" or "always" replaces it, as a file skipped for sharing its content under a {sha256}
 * template says "same content as …".
 */
let env: S3Env;
let cp: Running;
let dst: string;

beforeAll(async () => {
  env = await startS3Env(['src', 'dst']);
  await env.s3.put('src', 'a.txt', 'new a');
  await env.s3.put('src', 'b.txt', 'new b');
  await env.s3.put('dst', 'out/a.txt', 'old a');
  await env.s3.put('dst', 'out/b.txt', 'old b');
  cp = await startCloudport({ dataDir: tempDir() });
  const src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i' })).job_id);
  dst = (await cp.ok('create_connector', { ...env.connector('dst'), scopes: ['export'], export_base_path: 'out' })).connector.id;
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('files skipped because their target exists', () => {
  it('say why and name the overwrite option that writes them', async () => {
    const job = (await cp.ok('start_export', { index: 'i', connector_id: dst })).job_id;
    const final = await waitForJob(cp, job);
    expect(final.counts).toMatchObject({ exported: 0, skipped: 2 });
    const skipped = await cp.call('import_status', { job_id: job, files_status: 'skipped' });
    expect(skipped.data.files).toHaveLength(2);
    for (const f of skipped.data.files as { key: string; error?: string }[]) {
      expect(f.error ?? '(no reason given)', f.key).toMatch(/exist/);
      expect(f.error ?? '(no reason given)', f.key).toMatch(/overwrite/);
    }
  });
});
