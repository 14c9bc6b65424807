import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * `listing_complete` tells whether every object of the selection was listed. A job whose background
 * listing failed (here: ListObjects answers 403 after the first page) or that was canceled while its
 * listing went on has listed only part of the selection: import_status answers `listing_complete:
 * false` for it, in both cases, and the job still ends (failed, canceled).
 */
const N = 2100; // more than the first listing's 1000 files: the rest is listed in the background

describe('listing_complete of a job whose listing did not finish', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['partlist']);
    const puts: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      puts.push(env.s3.put('partlist', `o/${String(i).padStart(5, '0')}.txt`, `x${i}`));
      if (puts.length >= 64) await Promise.all(puts.splice(0));
    }
    await Promise.all(puts);
  }, 120_000);
  afterAll(async () => env?.stop());

  it('a background listing that fails leaves listing_complete false', async () => {
    const cp = await startCloudport({ dataDir: tempDir(), args: ['--workers', '2'] });
    try {
      const conn = (await cp.ok('create_connector', env.connector('partlist'))).connector.id;
      const started = await cp.ok('start_import', { connector_id: conn, index: 'part' });
      expect(started.listing_complete).toBe(false);
      env.proxy.addFault({ match: { op: 'ListObjects' }, times: 1000, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'denied' } });
      const s = await waitForJob(cp, started.job_id, 120_000);
      env.proxy.clearFaults();
      expect(s.status).toBe('failed');
      expect(s.reason).toMatch(/listing failed/);
      expect(s.counts.ready).toBeLessThan(N);
      expect(s.listing_complete).toBe(false);
    } finally {
      env.proxy.clearFaults();
      await cp.close();
    }
  }, 180_000);

  it('a job canceled while its listing goes on leaves listing_complete false', async () => {
    const cp = await startCloudport({ dataDir: tempDir(), args: ['--workers', '1'] });
    try {
      const conn = (await cp.ok('create_connector', env.connector('partlist'))).connector.id;
      env.proxy.setDelays({ ListObjects: 1500 });
      const started = await cp.ok('start_import', { connector_id: conn, index: 'part2' });
      expect(started.listing_complete).toBe(false);
      const canceled = await cp.ok('cancel_import', { job_id: started.job_id });
      expect(canceled.status).toBe('canceled');
      const s = await cp.ok('import_status', { job_id: started.job_id });
      expect(s.counts.ready + s.counts.canceled).toBeLessThan(N);
      expect(s.listing_complete).toBe(false);
    } finally {
      env.proxy.setDelays({});
      await cp.close();
    }
  }, 120_000);
});
