/**
 * import_logs shows every file's failure (README: "starts, ends and per-file errors"), those of files
 * that fail as the job is listed included: explicit keys that do not exist, export paths refused at
 * start.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
// @ts-expect-error plain ESM helper
import { startGcsServer } from '../support/gcs-server.mjs';
import { saKeyFile } from '../helpers/gcs-fixtures.js';

let gcs: any;
let cp: Running;
let connectorId: string;

beforeAll(async () => {
  gcs = await startGcsServer();
  await gcs.put('qa-bucket', 'docs/ok.txt', 'ok', 'text/plain');
  await gcs.put('qa-bucket', 'docs/../../escape.txt', 'dots', 'text/plain');
  cp = await startCloudport({ dataDir: tempDir() });
  const c = await cp.ok('create_connector', {
    name: 'g', provider: 'gcs', bucket: 'qa-bucket', endpoint: gcs.endpoint,
    credentials: { type: 'service_account', json: { file: saKeyFile() } }, scopes: ['import', 'export'], export_base_path: 'out/',
  });
  connectorId = c.connector.id;
});
afterAll(async () => {
  await cp?.close();
  await gcs?.stop();
});

it('logs an error entry for an explicit key that fails at start', async () => {
  const started = await cp.ok('start_import', { connector_id: connectorId, index: 'k', keys: ['docs/ok.txt', 'docs/missing.txt'] });
  expect(started.failed_files).toHaveLength(1);
  const s = await waitForJob(cp, started.job_id);
  expect(s.counts.failed).toBe(1);
  const logs = await cp.ok('import_logs', { job_id: started.job_id });
  const errors = logs.entries.filter((e: any) => e.level === 'error');
  expect(errors.map((e: any) => e.key)).toContain('docs/missing.txt');
});

it('logs an error entry for an export path refused at start', async () => {
  const imp = await cp.ok('start_import', { connector_id: connectorId, index: 'h', prefix: 'docs/' });
  await waitForJob(cp, imp.job_id);
  const exp = await cp.ok('start_export', { index: 'h', connector_id: connectorId });
  const s = await waitForJob(cp, exp.job_id);
  expect(s.counts.failed).toBe(1);
  const logs = await cp.ok('import_logs', { job_id: exp.job_id });
  expect(logs.entries.filter((e: any) => e.level === 'error')).toHaveLength(1);
});
