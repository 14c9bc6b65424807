import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A FAILED connector leaves FAILED only through checks that pass (README: test_connector, an
 * update_connector that fixes it, or update_connector {status: "ACTIVE"}, "which runs the checks
 * first"; validate: false skips them on the caller's word). Going FAILED → SUSPENDED → ACTIVE must not
 * be a way around those checks: while the bucket still refuses, the resume is refused (the checks run
 * and fail) and the connector does not read back ACTIVE with its old last_error.
 */

let env: S3Env;
let cp: Running;

beforeAll(async () => {
  env = await startS3Env(['fvs-bucket']);
  await env.s3.put('fvs-bucket', 'a.txt', 'a');
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data') });
}, 60_000);
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('FAILED connector resumed through SUSPENDED', () => {
  it('runs the checks before ACTIVE, and refuses while the bucket still denies access', async () => {
    const c = (await cp.ok('create_connector', env.connector('fvs-bucket'))).connector;
    env.proxy.addFault({ times: Infinity, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
    for (let i = 0; i < 5; i++) await cp.ok('test_connector', { connector_id: c.id });
    expect((await cp.ok('get_connector', { connector_id: c.id })).connector.status).toBe('FAILED');

    // The documented way is refused while the storage refuses:
    expect((await cp.call('update_connector', { connector_id: c.id, status: 'ACTIVE' })).isError).toBe(true);

    // The detour must not succeed either.
    await cp.ok('update_connector', { connector_id: c.id, status: 'SUSPENDED' });
    const resumed = await cp.call('update_connector', { connector_id: c.id, status: 'ACTIVE' });
    const after = (await cp.ok('get_connector', { connector_id: c.id })).connector;
    expect(resumed.isError).toBe(true);
    expect(after.status).not.toBe('ACTIVE');
  });
});
