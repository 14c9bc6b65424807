import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('--connector-concurrency', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['slow-src', 'fast-src']);
    for (let i = 0; i < 24; i++) await env.s3.put('slow-src', `a/${String(i).padStart(3, '0')}`, `slow ${i}`);
    for (let i = 0; i < 10; i++) await env.s3.put('fast-src', `b/${String(i).padStart(3, '0')}`, `fast ${i}`);
  });
  afterAll(async () => env?.stop());

  it('one connector with a big, slow import cannot take every slot: a later import from another connector finishes first', async () => {
    const cp = await startCloudport({ dataDir: tempDir(), args: ['--workers', '4', '--connector-concurrency', '2'] });
    try {
      const slow = (await cp.ok('create_connector', env.connector('slow-src'))).connector.id;
      const fast = (await cp.ok('create_connector', env.connector('fast-src'))).connector.id;
      // Every GET from the slow bucket takes 400 ms; at most 2 of them run at once.
      let inFlight = 0;
      let most = 0;
      env.proxy.addFault({
        match: { op: 'GetObject', keyIncludes: 'a/' },
        times: Infinity,
        action: {
          type: 'before',
          run: async () => {
            most = Math.max(most, ++inFlight);
            await sleep(400);
            inFlight--;
          },
        },
      });
      const a = await cp.ok('start_import', { connector_id: slow, index: 'slow' });
      await sleep(300); // the slow job's files are claimed first (they are older)
      const b = await cp.ok('start_import', { connector_id: fast, index: 'fast' });
      const sb = await waitForJob(cp, b.job_id);
      expect(sb.status).toBe('completed');
      const sa = await cp.ok('import_status', { job_id: a.job_id });
      expect(sa.counts.pending).toBeGreaterThan(0);
      const fa = await waitForJob(cp, a.job_id);
      expect(fa.counts.ready).toBe(24);
      expect(most).toBeLessThanOrEqual(2);
      expect(most).toBe(2);
    } finally {
      env.proxy.clearFaults();
      await cp.close();
    }
  });
});
