import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A connector with both scopes imports a bucket into an index and exports the index back under its
 * export_base_path (the README's own demo: "an export back to the bucket"). Its next import (by hand or
 * by an import automation) leaves out the objects under that export_base_path, which are cloudport's
 * own copies of the index's items: otherwise each import/export round adds them again under a deeper
 * path (out/…, then out/out/…), and an import automation next to an export automation grows the
 * index and the bucket without end.
 */
let env: S3Env;
let cp: Running;

beforeAll(async () => {
  env = await startS3Env(['both']);
  for (let i = 0; i < 3; i++) await env.s3.put('both', `docs/f${i}.txt`, `hello ${i}`);
  cp = await startCloudport({ dataDir: tempDir() });
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('import after an export into the same connector', () => {
  it('does not import the exported copies back, round after round', async () => {
    const c = (await cp.ok('create_connector', { ...env.connector('both'), scopes: ['import', 'export'], export_base_path: 'out' })).connector.id;
    for (let round = 0; round < 2; round++) {
      await waitForJob(cp, (await cp.ok('start_import', { connector_id: c, index: 'i' })).job_id);
      await waitForJob(cp, (await cp.ok('start_export', { index: 'i', connector_id: c, overwrite: 'if_changed' })).job_id);
    }
    const last = await waitForJob(cp, (await cp.ok('start_import', { connector_id: c, index: 'i' })).job_id);
    expect(last.status).not.toBe('failed');
    const items = (await cp.ok('list_index_items', { index: 'i', limit: 100 })).items.map((x: { key: string }) => x.key).sort();
    expect(items).toEqual(['docs/f0.txt', 'docs/f1.txt', 'docs/f2.txt']);
  });
});
