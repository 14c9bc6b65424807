import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * README "Several processes on one store": two cloudport processes on one data dir (as two --http
 * front doors would be), --workers 0 so jobs stay queued. reindex_index called in both at once answers
 * one job: the store decides in one transaction.
 */
describe('reindex_index across two processes on one store', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['lim']);
    for (const k of ['a.txt', 'b.txt', 'c.txt']) await env.s3.put('lim', k, `some text in ${k}`);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('two calls at once, one in each process, start one job', async () => {
    const dataDir = tempDir();
    const off = await startCloudport({ dataDir, env: { CLOUDPORT_EXTRACT: 'off' } });
    const id = (await off.ok('create_connector', env.connector('lim'))).connector.id;
    await waitForJob(off, (await off.ok('start_import', { connector_id: id, index: 'lim' })).job_id);
    await off.close();

    const p = await startCloudport({ dataDir, args: ['--workers', '0'] });
    const q = await startCloudport({ dataDir, args: ['--workers', '0'] });
    let doubled = 0;
    try {
      for (let round = 0; round < 10; round++) {
        const [a, b] = await Promise.all([p.ok('reindex_index', { index: 'lim' }), q.ok('reindex_index', { index: 'lim' })]);
        if (a.job_id !== b.job_id) doubled++;
        for (const j of new Set([a.job_id, b.job_id])) await p.ok('cancel_import', { job_id: j });
      }
    } finally {
      await p.close();
      await q.close();
    }
    expect(doubled).toBe(0);
  }, 120_000);
});
