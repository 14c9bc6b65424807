import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';

/**
 * An argument an agent names by a common variant of the real one ({connector} for connector_id,
 * {job} for job_id, {wait} for wait_seconds, {key_prefix} for prefix, {index_name} for index) is
 * answered with "Did you mean <the real one>?", not "Remove it": removing it would drop a filter or the
 * long poll the agent asked for and run a different call than it meant.
 */
let cp: Running;
beforeAll(async () => {
  cp = await startCloudport({ dataDir: tempDir() });
});
afterAll(async () => {
  await cp?.close();
});

it.each([
  ['browse_connector', { connector: 'conn_x' }, 'connector_id'],
  ['import_status', { job: 'imp_x' }, 'job_id'],
  ['import_status', { job_id: 'imp_x', wait: 10 }, 'wait_seconds'],
  ['list_index_items', { index: 'x', key_prefix: 'a/' }, 'prefix'],
  ['list_index_items', { index_name: 'x' }, 'index'],
])('%s %j suggests %s', async (tool, args, meant) => {
  const r = await cp.call(tool, args);
  expect(r.isError).toBe(true);
  expect(r.data.error.fix).toMatch(new RegExp(`Did you mean ${meant}\\b`));
  expect(r.data.error.fix).not.toMatch(/^Remove it/);
});
