import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A listing answer whose body stalls past CLOUDPORT_IDLE_TIMEOUT_MS is a temporary fault, like a
 * stalled download: a single stall is retried (browse_connector and start_import answer normally), and
 * a stall that persists answers an error marked temporary, with a fix, in words an agent can read
 * (not undici's class name "BodyTimeoutError").
 */
let env: S3Env;
let cp: Running;
let id: string;
beforeAll(async () => {
  env = await startS3Env(['stallbk']);
  for (let i = 0; i < 3; i++) await env.s3.put('stallbk', `a${i}.txt`, `alpha ${i}`);
  cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_IDLE_TIMEOUT_MS: '1000' } });
  id = (await cp.ok('create_connector', env.connector('stallbk'))).connector.id;
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

const stall = { type: 'stall', afterBytes: 10, ms: 30_000 };

it('one stalled listing body: browse_connector retries and answers the objects', async () => {
  env.proxy.clearFaults();
  env.proxy.addFault({ match: { op: 'ListObjects' }, times: 1, action: stall });
  const r = await cp.call('browse_connector', { connector_id: id });
  expect(r.text).not.toContain('BodyTimeoutError');
  expect(r.isError).toBe(false);
  expect(r.data.matched).toBe(3);
});

it('one stalled listing body: start_import {dry_run} retries and counts the objects', async () => {
  env.proxy.clearFaults();
  env.proxy.addFault({ match: { op: 'ListObjects' }, times: 1, action: stall });
  const r = await cp.call('start_import', { connector_id: id, index: 'x', dry_run: true });
  expect(r.text).not.toContain('BodyTimeoutError');
  expect(r.isError).toBe(false);
  expect(r.data.accepted).toBe(3);
});

it('a listing body that always stalls: a temporary error with a fix', async () => {
  env.proxy.clearFaults();
  env.proxy.addFault({ match: { op: 'ListObjects' }, times: Infinity, action: stall });
  const r = await cp.call('browse_connector', { connector_id: id });
  env.proxy.clearFaults();
  expect(r.isError).toBe(true);
  expect(r.text).not.toContain('BodyTimeoutError');
  expect(r.data.error.temporary).toBe(true);
  expect(r.data.error.fix).toBeTruthy();
});
