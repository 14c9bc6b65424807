/**
 * start_import {retry_of, connector_id: <another connector>} is refused with a fix (the README's error
 * line is "<kind>: <message> [field] Fix: …"), as the same refusal for another index is: an agent
 * reading only the text is told the call to make, not only the rule.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

let env: S3Env;
let cp: Running;
beforeAll(async () => {
  env = await startS3Env(['rta', 'rtb']);
  await env.s3.put('rta', 'a.txt', 'a');
  await env.s3.put('rtb', 'b.txt', 'b');
  cp = await startCloudport({ dataDir: tempDir() });
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

it('retry_of with another connector_id says how to put the call right', async () => {
  const a = (await cp.ok('create_connector', env.connector('rta'))).connector.id;
  const b = (await cp.ok('create_connector', env.connector('rtb'))).connector.id;
  const job = await cp.ok('start_import', { connector_id: a, index: 'r', keys: ['a.txt', 'gone.txt'] });
  await waitForJob(cp, job.job_id);
  const r = await cp.call('start_import', { retry_of: job.job_id, connector_id: b });
  expect(r.isError).toBe(true);
  expect(r.text).toMatch(/\[connector_id\]/);
  expect(r.text, 'no next step in the error line').toMatch(/Fix: /);
});
