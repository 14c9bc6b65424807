/**
 * Errors an agent meets in ordinary flows say what to do next (the README's "<kind>: <message> [field]
 * Fix: …"): a retry of a canceled job, a connector deleted while its job runs (named), key files and
 * connection strings that lack a part; and retry_of with another index is not silently ignored.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
// @ts-expect-error plain ESM helper
import { startGcsServer } from '../support/gcs-server.mjs';
import { delayProxy, saKeyFile } from '../helpers/gcs-fixtures.js';

let gcs: any;
let px: Awaited<ReturnType<typeof delayProxy>>;
let cp: Running;
let connectorId: string;

beforeAll(async () => {
  gcs = await startGcsServer();
  for (let i = 0; i < 10; i++) await gcs.put('qa-bucket', `b/f${i}.txt`, `c${i}`, 'text/plain');
  px = await delayProxy(gcs.endpoint, { delay: 300 });
  cp = await startCloudport({ dataDir: tempDir(), args: ['--workers', '1'], env: { TEST_CS: 'AccountName=devstoreaccount1;Key=abc' } });
  const c = await cp.ok('create_connector', { name: 'g', provider: 'gcs', bucket: 'qa-bucket', endpoint: px.endpoint, credentials: { type: 'service_account', json: { file: saKeyFile() } } });
  connectorId = c.connector.id;
});
afterAll(async () => {
  await cp?.close();
  await px?.stop();
  await gcs?.stop();
});

it('retry_of a canceled job says how to bring in the canceled files', async () => {
  const job = await cp.ok('start_import', { connector_id: connectorId, index: 'c', prefix: 'b/' });
  await cp.call('cancel_import', { job_id: job.job_id });
  const s = await waitForJob(cp, job.job_id);
  expect(s.counts.canceled).toBeGreaterThan(0);
  const r = await cp.call('start_import', { retry_of: job.job_id });
  expect(r.isError).toBe(true);
  expect(r.text).toMatch(/Fix: /);
});

it('delete_connector refused for a running job names the job', async () => {
  const job = await cp.ok('start_import', { connector_id: connectorId, index: 'd', prefix: 'b/' });
  const r = await cp.call('delete_connector', { connector_id: connectorId });
  expect(r.isError).toBe(true);
  await cp.call('cancel_import', { job_id: job.job_id });
  expect(r.text).toContain(job.job_id);
});

it('a key file that is JSON but not a service account key gets a Fix', async () => {
  const p = path.join(tempDir('errors-'), 'partial.json');
  fs.writeFileSync(p, JSON.stringify({ type: 'service_account', private_key: 'x' }));
  const r = await cp.call('create_connector', { name: 'p', provider: 'gcs', bucket: 'qa-bucket', endpoint: px.endpoint, credentials: { type: 'service_account', json: { file: p } } });
  expect(r.isError).toBe(true);
  expect(r.text).toMatch(/Fix: /);
});

it('an Azure connection string without AccountKey gets a Fix', async () => {
  const r = await cp.call('create_connector', { name: 'cs', provider: 'azure_blob', container: 'qa-cont', credentials: { type: 'connection_string', connection_string: { env: 'TEST_CS' } } });
  expect(r.isError).toBe(true);
  expect(r.text).toMatch(/Fix: /);
});

it('retry_of with another index is refused like another connector_id, not silently ignored', async () => {
  const job = await cp.ok('start_import', { connector_id: connectorId, index: 'r1', keys: ['b/f0.txt', 'b/gone.txt'] });
  await waitForJob(cp, job.job_id);
  await gcs.put('qa-bucket', 'b/gone.txt', 'back', 'text/plain');
  const r = await cp.call('start_import', { retry_of: job.job_id, index: 'r2' });
  if (r.isError) return; // refused: fine
  const s = await waitForJob(cp, r.data.job_id);
  // Either refuse index "r2" (as connector_id is refused) or import into it; never accept it and use another.
  expect(s.index).toBe('r2');
});
