/**
 * search_index names an unknown index by its place in the caller's `index` array, even when the array
 * repeats a name: ["legal", "legal", "nope"] reports index[2], the element that holds "nope".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

describe('search_index index[i] field', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['search-field']);
    await env.s3.put('search-field', 'a.md', 'termination clause');
    cp = await startCloudport({ dataDir: tempDir() });
    const conn = (await cp.ok('create_connector', env.connector('search-field'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 'legal' })).job_id);
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('an unknown name after a repeated one is reported at its own position', async () => {
    const r = await cp.call('search_index', { query: 'termination', index: ['legal', 'legal', 'nope'] });
    expect(r.isError).toBe(true);
    expect(r.data.error).toMatchObject({ kind: 'not_found', field: 'index[2]' });
  });

  it('a repeated known name searches that index once', async () => {
    const r = await cp.ok('search_index', { query: 'termination', index: ['legal', 'legal'] });
    expect(r.results.map((h: { key: string }) => h.key)).toEqual(['a.md']);
  });
});
