import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * update_connector {status: "ACTIVE", validate: false} takes a failing connector out of its failure on
 * the caller's word: consecutive_failures goes to 0 and last_error to null, whether the connector was
 * FAILED or was FAILED and then SUSPENDED. A connector never reads back ACTIVE with
 * consecutive_failures 0 and the old failure still in last_error (list_connectors shows last_error,
 * and an agent takes it as the current state).
 */

let env: S3Env;
let cp: Running;

beforeAll(async () => {
  env = await startS3Env(['stale-bucket']);
  await env.s3.put('stale-bucket', 'a.txt', 'a');
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data') });
}, 60_000);
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('resuming a suspended FAILED connector with validate: false', () => {
  it('clears last_error as a direct FAILED -> ACTIVE does', async () => {
    const c = (await cp.ok('create_connector', env.connector('stale-bucket'))).connector;
    env.proxy.addFault({ times: Infinity, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
    for (let i = 0; i < 5; i++) await cp.ok('test_connector', { connector_id: c.id });
    env.proxy.clearFaults();
    expect((await cp.ok('get_connector', { connector_id: c.id })).connector.status).toBe('FAILED');

    await cp.ok('update_connector', { connector_id: c.id, status: 'SUSPENDED' });
    const resumed = (await cp.ok('update_connector', { connector_id: c.id, status: 'ACTIVE', validate: false })).connector;
    expect(resumed.status).toBe('ACTIVE');
    expect(resumed.consecutive_failures).toBe(0);
    expect(resumed.last_error).toBeNull();
    const listed = (await cp.ok('list_connectors', {})).connectors.find((x: { id: string }) => x.id === c.id);
    expect(listed.last_error).toBeNull();
  });
});
