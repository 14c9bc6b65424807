import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A throttled browse_connector or start_import {dry_run} answers rate_limited with a fix the agent can
 * act on: retry (the call it made), and, if it speaks of concurrency, the setting that holds it
 * (--connector-concurrency / --workers); no tool takes an "import concurrency" argument.
 */
let env: S3Env;
let cp: Running;
let id: string;
beforeAll(async () => {
  env = await startS3Env(['throttlebk']);
  await env.s3.put('throttlebk', 'a.txt', 'alpha');
  cp = await startCloudport({ dataDir: tempDir() });
  id = (await cp.ok('create_connector', env.connector('throttlebk'))).connector.id;
  env.proxy.addFault({ match: { op: 'ListObjects' }, times: Infinity, action: { type: 'status', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' } });
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

it.each([
  ['browse_connector', () => ({ connector_id: id })],
  ['start_import', () => ({ connector_id: id, index: 'x', dry_run: true })],
])('%s: the rate_limited fix names a retry and no argument that does not exist', async (tool, args) => {
  const r = await cp.call(tool, args());
  expect(r.isError).toBe(true);
  expect(r.data.error.kind).toBe('rate_limited');
  const fix: string = r.data.error.fix;
  expect(fix).toMatch(/retry/i);
  if (/concurrency/i.test(fix)) expect(fix).toMatch(/--connector-concurrency|--workers/);
});
