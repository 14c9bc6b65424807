import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allFiles, sleep, startCloudport, tempDir, waitForJob, waitUntil, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A job's listing is resumable: each page is stored with the provider's continuation token in one
 * transaction (appendListing), only one page is in memory at a time, and a process that takes over
 * the listing lease (after a crash) goes on from the stored token.
 */
const LEASE = { CLOUDPORT_LEASE_MS: '1500' };
const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

describe('resumable listings', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['listing']);
  });
  afterAll(async () => env?.stop());

  it('a listing killed mid-way resumes from its stored continuation token, not from the start', async () => {
    const PAGES = 10;
    const puts: Promise<unknown>[] = [];
    for (let i = 0; i < PAGES * 1000; i++) {
      // One object in 100 matches the glob: the listing pages are the work, the downloads are few.
      puts.push(env.s3.put('listing', `l/${String(i).padStart(6, '0')}.${i % 100 === 0 ? 'pdf' : 'txt'}`, `x${i}`));
      if (puts.length >= 128) await Promise.all(puts.splice(0));
    }
    await Promise.all(puts);
    const dataDir = tempDir();
    let lists = 0;
    env.proxy.clearFaults();
    env.proxy.addFault({ match: { op: 'ListObjects' }, times: Infinity, action: { type: 'before', run: () => (lists++, sleep(400)) } });
    let cp = await startCloudport({ dataDir, args: ['--workers', '2'], env: LEASE });
    try {
      const connector = (await cp.ok('create_connector', env.connector('listing'))).connector.id;
      lists = 0;
      const job = await cp.ok('start_import', { connector_id: connector, index: 'listing', pattern: '**/*.pdf' });
      expect(job.listing_complete).toBe(false);
      const first = job.accepted;
      // Two more pages stored by the background listing, then the kill.
      await waitUntil(cp, job.job_id, (s) => total(s.counts) >= first + 20 && !s.listing_complete, 'two background pages');
      process.kill(cp.pid!, 'SIGKILL');
      await cp.close().catch(() => {});
      const listedBefore = lists;
      const db = new Database(path.join(dataDir, 'cloudport.db'), { readonly: true });
      const row = db.prepare('SELECT listing_state, listing_complete FROM jobs WHERE id = ?').get(job.job_id) as { listing_state: string; listing_complete: number };
      const stored = (db.prepare('SELECT COUNT(*) AS n FROM job_files WHERE job_id = ?').get(job.job_id) as { n: number }).n;
      db.close();
      expect(row.listing_complete).toBe(0);
      const token = JSON.parse(row.listing_state).t as string;
      expect(token).toBeTruthy();
      const pagesStored = stored / 10;
      expect(Number.isInteger(pagesStored)).toBe(true);
      expect(pagesStored).toBeLessThan(PAGES);
      expect(listedBefore).toBeGreaterThanOrEqual(pagesStored);

      lists = 0;
      cp = await startCloudport({ dataDir, args: ['--workers', '2'], env: LEASE });
      const s = await waitForJob(cp, job.job_id);
      expect(s.status).toBe('completed');
      expect(s.counts.ready).toBe(PAGES * 10);
      // Only the pages after the stored token were listed again.
      expect(lists).toBe(PAGES - pagesStored);
      const files = await allFiles(cp, job.job_id);
      expect(new Set(files.map((f) => f.key)).size).toBe(PAGES * 10);
    } finally {
      env.proxy.clearFaults();
      await cp.close().catch(() => {});
    }
  });

});
