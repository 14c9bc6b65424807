import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * start_export called again with the same idempotency_key answers what the first call answered:
 * under a "{sha256}{ext}" template, items that share content with an earlier key are left out at
 * listing (`skipped`, one object holds them) and are not `accepted`, in the replay as in the original.
 */
let env: S3Env;
let cp: Running;
let dst: string;

beforeAll(async () => {
  env = await startS3Env(['src', 'dst']);
  for (let i = 0; i < 6; i++) await env.s3.put('src', `d/f${i}.txt`, `content ${i % 3}`);
  cp = await startCloudport({ dataDir: tempDir() });
  const src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i' })).job_id);
  dst = (await cp.ok('create_connector', { ...env.connector('dst'), scopes: ['export'], export_base_path: 'out' })).connector.id;
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('idempotent replay of an export with content-shared items', () => {
  it('reports the same accepted and skipped counts as the original call', async () => {
    const args = { index: 'i', connector_id: dst, path_template: '{sha256}{ext}', idempotency_key: 'replay-1' };
    const first = await cp.ok('start_export', args);
    expect(first).toMatchObject({ accepted: 3, skipped: 3 });
    await waitForJob(cp, first.job_id);
    const again = await cp.call('start_export', args);
    expect(again.data).toMatchObject({ job_id: first.job_id, replayed: true, accepted: 3, skipped: 3 });
    expect(again.text).toMatch(/3 item\(s\)/);
  });
});
