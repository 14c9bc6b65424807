import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * start_import {keys} with some keys missing from the bucket: the answer keeps a sample of 20
 * failed_files, and its summary line and `failed` count every key that failed, not the sample.
 */
describe('start_import keys: the failed count is not the sample size', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['fc-bkt']);
    await env.s3.put('fc-bkt', 'here.txt', 'present');
    for (let i = 0; i < 31; i++) await env.s3.put('fc-bkt', `same/${String(i).padStart(2, '0')}/x.txt`, `content ${i}`);
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  const keys = ['here.txt', ...Array.from({ length: 30 }, (_, i) => `missing/${i}.txt`)];

  for (const dry_run of [true, false]) {
    it(`dry_run ${dry_run}: the text says 30 failed, not 20`, async () => {
      const cid = (await cp.ok('create_connector', env.connector('fc-bkt'))).connector.id;
      const r = await cp.call('start_import', { connector_id: cid, index: `fc-${dry_run}`, keys, dry_run });
      expect(r.isError, r.text).toBe(false);
      const summary = r.text.split('\n')[0]!;
      expect(summary).toMatch(/1 file\(s\)/);
      expect(summary, summary).toMatch(/\b30 failed\b/);
    });
  }

  it('start_export dry_run: 30 items refused by a colliding path template are counted as 30, not 20', async () => {
    const cid = (await cp.ok('create_connector', env.connector('fc-bkt', { scopes: ['import', 'export'], export_base_path: 'out/' }))).connector.id;
    const job = (await cp.ok('start_import', { connector_id: cid, index: 'same', prefix: 'same/' })).job_id;
    await cp.ok('import_status', { job_id: job, wait_seconds: 30 });
    const r = await cp.call('start_export', { index: 'same', connector_id: cid, path_template: 'flat/{name}', dry_run: true });
    expect(r.isError, r.text).toBe(false);
    const summary = r.text.split('\n')[0]!;
    expect(summary, summary).toMatch(/\b30 refused\b/);
  });
});
