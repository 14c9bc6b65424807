import { afterAll, beforeAll, expect, it } from 'vitest';
import { importAll, startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * import_status {files_status} pages a job's files; when more files follow, its summary line says so
 * ("more with next_cursor"), as every other paged tool's summary does (browse_connector,
 * list_index_items, list_imports, import_logs, search_index, list_indexes, list_automations).
 */
let env: S3Env;
let cp: Running;
let jobId: string;
beforeAll(async () => {
  env = await startS3Env(['pagebk']);
  for (let i = 0; i < 6; i++) await env.s3.put('pagebk', `f${i}.txt`, `file ${i}`);
  cp = await startCloudport({ dataDir: tempDir() });
  jobId = (await importAll(cp, env.connector('pagebk'), 'p')).job_id;
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

it('the summary line of a files page with a next page says more with next_cursor', async () => {
  const r = await cp.call('import_status', { job_id: jobId, files_status: 'all', limit: 2 });
  expect(r.isError).toBe(false);
  expect(r.data.next_cursor).toBeTruthy();
  const summary = r.text.split('\n')[0]!;
  expect(summary).toMatch(/more with next_cursor/);
});

it('the last page does not say so', async () => {
  const r = await cp.call('import_status', { job_id: jobId, files_status: 'all', limit: 100 });
  expect(r.data.next_cursor).toBeNull();
  expect(r.text.split('\n')[0]).not.toMatch(/more with next_cursor/);
});
