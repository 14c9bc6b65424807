import { afterAll, beforeAll, expect, it } from 'vitest';
import { importAll, startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * The fix of an error is a call that works: start_import {retry_of} on a job with nothing to retry
 * whose connector has since been ARCHIVED (final) does not suggest a start_import on that connector,
 * which is refused; like a deleted connector, it says to connect the bucket again (create_connector).
 */
let env: S3Env;
let cp: Running;
beforeAll(async () => {
  env = await startS3Env(['archbk']);
  await env.s3.put('archbk', 'docs/a.txt', 'alpha');
  cp = await startCloudport({ dataDir: tempDir() });
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

it('the suggested start_import is not refused for the ARCHIVED connector', async () => {
  const job = await importAll(cp, env.connector('archbk'), 'arch');
  expect(job.status).toBe('completed');
  await cp.ok('update_connector', { connector_id: job.connector_id, status: 'ARCHIVED' });

  const r = await cp.call('start_import', { retry_of: job.job_id });
  expect(r.isError).toBe(true);
  const fix: string = r.data.error.fix;
  const suggested = /start_import (\{.*?\})(?= imports| to import|$)/.exec(fix);
  if (suggested) {
    const args = JSON.parse(suggested[1]!);
    const again = await cp.call('start_import', args);
    expect(again.text).not.toMatch(/ARCHIVED/);
  } else {
    expect(fix).toMatch(/create_connector/);
  }
});
