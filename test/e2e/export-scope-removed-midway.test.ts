import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * The export scope is what lets cloudport write into a connector's bucket: start_export refuses a
 * connector without it and export automations pause. Once update_connector removes the scope, a
 * running export makes no more writes: its files not yet started fail saying the connector lacks the
 * export scope (as they fail when the connector is SUSPENDED), instead of the job writing every
 * remaining object into a bucket the user has just closed to exports.
 */
let env: S3Env;
let cp: Running;
const N = 60;

beforeAll(async () => {
  env = await startS3Env(['src', 'dst']);
  for (let i = 0; i < N; i++) await env.s3.put('src', `d/f${String(i).padStart(3, '0')}.txt`, `hello ${i}`);
  cp = await startCloudport({ dataDir: tempDir() });
  const src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i' })).job_id);
});
afterAll(async () => {
  env?.proxy.clearFaults();
  await cp?.close();
  await env?.stop();
});

describe('export scope removed while an export runs', () => {
  it('stops the export from writing the files it has not started', async () => {
    const dst = (await cp.ok('create_connector', { ...env.connector('dst'), scopes: ['import', 'export'], export_base_path: 'out' })).connector.id;
    // Every HEAD (the first request of a file under overwrite "never") waits until the scope is gone.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    env.proxy.resetCounts();
    env.proxy.addFault({ match: { op: 'HeadObject' }, times: Infinity, action: { type: 'before', run: () => gate } });
    const job = (await cp.ok('start_export', { index: 'i', connector_id: dst })).job_id;
    await until('the first files to reach the bucket', async () => env.proxy.counts.HeadObject >= 1);
    await cp.ok('update_connector', { connector_id: dst, scopes: ['import'] });
    release();
    const final = await waitForJob(cp, job);
    expect(final.counts.exported).toBeLessThan(N);
    const failed = await cp.ok('import_status', { job_id: job, files_status: 'failed', limit: 5 });
    expect(failed.files.length).toBeGreaterThan(0);
    expect(failed.files[0].error).toMatch(/export scope/);
  });
});
