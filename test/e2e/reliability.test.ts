import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { pgSchema } from '../helpers/pg.js';
import { sha256, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Reliability of the import job path: a file whose download kills the server each time (the attempt
 * cap, and its neighbours' attempts kept), and a store that runs out of space mid-import. S3 (fauxqs) behind our fault proxy, the built
 * server over stdio; loopback only.
 */

const FINAL = ['completed', 'completed_with_errors', 'failed', 'canceled'];

describe('a file whose download kills the server each time, among files that do not', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['poison']);
  });
  afterAll(async () => env?.stop());
  const { url } = pgSchema('cp_poison');

  it.each([
    ['SQLite', [] as string[]],
    ['PostgreSQL', ['--database-url', url()]],
  ])(
    '%s, --workers 4: it dies once beside other files (charged to none of them), then runs alone and is tried CLOUDPORT_MAX_ATTEMPTS (5) times before "gave up after 5 attempts"; every other file is imported',
    async (_store, storeArgs) => {
      const prefix = `${_store}/`;
      const ok = Array.from({ length: 40 }, (_, i) => `${prefix}f${String(i).padStart(2, '0')}.txt`);
      for (const k of ok) await env.s3.put('poison', k, `content of ${k}`);
      // Listed among the others (keys sort around it), so the first death takes three other transfers with it.
      const poison = `${prefix}f05-poison.bin`;
      await env.s3.put('poison', poison, 'this download takes the server down');
      const dataDir = tempDir();
      // A short lease: a killed server's files are taken over soon after the restart.
      const start = () => startCloudport({ dataDir, args: ['--workers', '4', ...storeArgs], env: { CLOUDPORT_LEASE_MS: '1000' } });
      let cp: Running = await start();
      let kills = 0;
      let killed = false;
      const poisonGets = () => env.proxy.gets.filter((k) => k === poison).length;
      const before = poisonGets();
      // The poisoned key's GET kills the server working on it (SIGKILL: no clean stop, no lease handed back).
      env.proxy.addFault({
        match: { op: 'GetObject', keyIncludes: poison },
        times: 1000,
        action: {
          type: 'before',
          run: async () => {
            // A restarted server may fetch it before the test holds its handle: wait for that, then kill it.
            while (killed) await sleep(20);
            killed = true;
            kills++;
            process.kill(cp.pid!, 'SIGKILL');
            throw new Error('server killed');
          },
        },
      });
      const conn = (await cp.ok('create_connector', env.connector('poison'))).connector.id;
      const job = await cp.ok('start_import', { connector_id: conn, index: `poison-${_store}`, prefix });
      expect(job.accepted).toBe(41);
      let s: Record<string, any> = {};
      // Restart the server after each kill, until the job is final (bounded, should it restart for ever).
      for (let polls = 0; kills <= 10 && polls < 3000; polls++) {
        if (killed) {
          await cp.close().catch(() => undefined);
          cp = await start();
          killed = false;
          continue;
        }
        const r = await cp.call('import_status', { job_id: job.job_id }).catch(() => null);
        if (r && !r.isError) {
          s = r.data;
          if (FINAL.includes(s.status)) break;
        }
        await sleep(100);
      }
      expect(s).toMatchObject({ status: 'completed_with_errors', counts: { ready: 40, failed: 1, pending: 0 } });
      // One death beside other files (refunded), then five alone: each counted.
      expect(kills).toBe(6);
      const failed = (await cp.ok('import_status', { job_id: job.job_id, files_status: 'failed' })).files;
      expect(failed).toEqual([expect.objectContaining({ key: poison, error: expect.stringMatching(/^gave up after 5 attempts: its worker stopped or stalled/) })]);
      const logs = (await cp.ok('import_logs', { job_id: job.job_id })).entries.map((e: { message: string }) => e.message);
      expect(logs.filter((m: string) => m.startsWith('gave up after 5 attempts'))).toHaveLength(1);
      const items = (await cp.ok('list_index_items', { index: `poison-${_store}`, limit: 100 })).items;
      expect(items.map((i: { key: string; sha256: string }) => [i.key, i.sha256])).toEqual(ok.map((k) => [k, sha256(`content of ${k}`)]));
      expect(poisonGets() - before).toBe(6);
      env.proxy.clearFaults();
      await cp.close();
    },
  );
});

describe('a store that runs out of space mid-import (SQLite, SQLITE_FULL)', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['full']);
  });
  afterAll(async () => env?.stop());

  it('the job stays running and says why in import_status, the condition is logged once (not per attempt), no file fails, and the job completes once there is room', async () => {
    const N = 40;
    const key = (i: number) => `documents/quarterly-reports/${'long-directory-name/'.repeat(3)}report-${String(i).padStart(3, '0')}.txt`;
    for (let i = 0; i < N; i++) await env.s3.put('full', key(i), `report number ${i}\n`.repeat(20));
    const dataDir = tempDir();
    // The job is created by a server that does no import work, so it is still all pending when the store fills.
    const front = await startCloudport({ dataDir, args: ['--workers', '0'] });
    const conn = (await front.ok('create_connector', env.connector('full'))).connector.id;
    const job = await front.ok('start_import', { connector_id: conn, index: 'full' });
    expect(job.accepted).toBe(N);
    await front.close();
    // The store may not grow past its present size: committing items (new pages) answers SQLITE_FULL.
    const db = new Database(path.join(dataDir, 'cloudport.db'), { readonly: true });
    const pages = Number(db.pragma('page_count', { simple: true }));
    db.close();
    const full = await startCloudport({ dataDir, args: ['--workers', '2'], env: { CLOUDPORT_SQLITE_MAX_PAGE_COUNT: String(pages), CLOUDPORT_LEASE_MS: '1000' } });
    let s = await until(
      'the job reports the full store',
      async () => {
        const r = await full.ok('import_status', { job_id: job.job_id });
        return typeof r.warning === 'string' && r.warning ? r : null;
      },
      60_000,
    ).catch(async (e) => {
      const r = await full.ok('import_status', { job_id: job.job_id });
      throw new Error(`${(e as Error).message}; last status ${JSON.stringify(r)}; server log: ${full.stderr().slice(-1500)}`);
    });
    expect(s.warning).toMatch(/^store full: database or disk is full; the job resumes when space is freed/);
    // Several more tries while the store stays full: still resumable, nothing failed, one log line.
    const gets = env.proxy.counts.GetObject;
    await until('more tries', async () => env.proxy.counts.GetObject >= gets + 6, 60_000);
    s = await full.ok('import_status', { job_id: job.job_id });
    expect(s.status).toBe('running');
    expect(s.counts.failed).toBe(0);
    expect(s.counts.pending).toBeGreaterThan(0);
    expect(s.warning).toMatch(/^store full/);
    // A call that must write answers a temporary error with what to do, not a bare "unexpected".
    const refused = await full.call('start_import', { connector_id: conn, index: 'full-too' });
    expect(refused.data.error).toMatchObject({ kind: 'unexpected', temporary: true, message: expect.stringMatching(/^the store is full/), fix: expect.stringContaining('Free space') });
    // The files handed back say so too (and stay pending).
    const waiting = (await full.ok('import_status', { job_id: job.job_id, files_status: 'pending', limit: 100 })).files;
    expect(waiting.some((f: { error?: string }) => /^store full: database or disk is full; tried again when space is freed/.test(f.error ?? ''))).toBe(true);
    const fullLines = full.stderr().split('\n').filter((l) => /database or disk is full/.test(l));
    expect(fullLines.length).toBeGreaterThanOrEqual(1);
    expect(fullLines.length).toBeLessThanOrEqual(2);
    await full.close();
    // Room again (the same data dir without the cap): the job completes with every file, and the warning is gone.
    const roomy = await startCloudport({ dataDir, args: ['--workers', '2'], env: { CLOUDPORT_LEASE_MS: '1000' } });
    s = await waitForJob(roomy, job.job_id);
    expect(s).toMatchObject({ status: 'completed', counts: { ready: N, failed: 0, pending: 0 } });
    expect(s.warning ?? null).toBeNull();
    const items = (await roomy.ok('list_index_items', { index: 'full', limit: 100 })).items;
    expect(items).toHaveLength(N);
    for (const it of items) expect(it.sha256).toBe(sha256(`report number ${Number(/report-(\d+)/.exec(it.key)![1])}\n`.repeat(20)));
    await roomy.close();
  });
});
