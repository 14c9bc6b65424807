import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * When a connector is SUSPENDED by the user while an import runs, its pending files fail with a reason
 * that says it was suspended (README: "their pending files fail with `connector <STATUS>: …`"), not
 * with an earlier, unrelated error kept in last_error (here: one failed test_connector from before),
 * which would send the agent chasing a permission problem that is not the cause.
 */

let env: S3Env;
let cp: Running;

beforeAll(async () => {
  env = await startS3Env(['susp-bucket']);
  for (let i = 0; i < 20; i++) await env.s3.put('susp-bucket', `f${String(i).padStart(2, '0')}.txt`, `file ${i}`);
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data'), args: ['--workers', '1'] });
}, 60_000);
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('files of a suspended connector', () => {
  it('fail saying the connector was suspended, not with an old last_error', async () => {
    const c = (await cp.ok('create_connector', env.connector('susp-bucket'))).connector;
    // One earlier failure leaves last_error set (the connector stays ACTIVE).
    env.proxy.addFault({ match: { op: 'ListObjects' }, times: 1, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
    const t = await cp.ok('test_connector', { connector_id: c.id });
    expect(t.success).toBe(false);
    const before = (await cp.ok('get_connector', { connector_id: c.id })).connector;
    expect(before.status).toBe('ACTIVE');
    expect(before.last_error).toContain('access denied');

    env.proxy.setDelays({ GetObject: 300 });
    const job = await cp.ok('start_import', { connector_id: c.id, index: 'susp' });
    await cp.ok('update_connector', { connector_id: c.id, status: 'SUSPENDED' });
    const end = await waitForJob(cp, job.job_id);
    expect(end.counts.failed).toBeGreaterThan(0);
    const failed = (await cp.ok('import_status', { job_id: job.job_id, files_status: 'failed', limit: 100 })).files as { key: string; error: string }[];
    for (const f of failed) {
      expect(f.error).toMatch(/^connector SUSPENDED/);
      expect(f.error).not.toContain('access denied');
    }
  });
});
