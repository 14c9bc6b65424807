import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A write (or the HEAD before it) whose answer never comes is given up after CLOUDPORT_IDLE_TIMEOUT_MS
 * without a byte either way and tried again, as a read is (README "Imports"; exports "retry temporary
 * errors like downloads"). No clock is asserted: an import whose GET stalls the same way is the witness
 * that several idle timeouts have passed.
 */
let env: S3Env;
let cp: Running;
let src: string;
let dst: string;

beforeAll(async () => {
  env = await startS3Env(['src', 'dst']);
  await env.s3.put('src', 'a.txt', 'hello');
  cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_IDLE_TIMEOUT_MS: '1500' } });
  src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
  dst = (await cp.ok('create_connector', { ...env.connector('dst'), scopes: ['export'], export_base_path: 'out' })).connector.id;
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i' })).job_id);
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('stalled export requests', () => {
  it('a PUT that never answers is given up and tried again, as a stalled GET is', async () => {
    env.proxy.resetCounts();
    // Every PUT and GET is held by the proxy far longer than the idle timeout.
    env.proxy.setDelays({ PutObject: 600_000, GetObject: 600_000 });
    try {
      const exp = await cp.ok('start_export', { index: 'i', connector_id: dst, overwrite: 'always' });
      const imp = await cp.ok('start_import', { connector_id: src, index: 'witness' });
      // The witness: the stalled GET has been given up and tried again three times.
      await until('the import to retry its stalled GET 3 times', async () => env.proxy.counts.GetObject >= 4, 60_000);
      expect(env.proxy.counts.PutObject).toBeGreaterThanOrEqual(2);
      await cp.ok('cancel_import', { job_id: exp.job_id });
      await cp.ok('cancel_import', { job_id: imp.job_id });
    } finally {
      env.proxy.setDelays({});
    }
  });

  it('a HEAD (overwrite: never) that never answers is given up and tried again', async () => {
    env.proxy.resetCounts();
    env.proxy.setDelays({ HeadObject: 600_000, GetObject: 600_000 });
    try {
      const exp = await cp.ok('start_export', { index: 'i', connector_id: dst, path_template: 'h/{key}' });
      const imp = await cp.ok('start_import', { connector_id: src, index: 'witness2' });
      await until('the import to retry its stalled GET 3 times', async () => env.proxy.counts.GetObject >= 4, 60_000);
      expect(env.proxy.counts.HeadObject).toBeGreaterThanOrEqual(2);
      await cp.ok('cancel_import', { job_id: exp.job_id });
      await cp.ok('cancel_import', { job_id: imp.job_id });
    } finally {
      env.proxy.setDelays({});
    }
  });
});
