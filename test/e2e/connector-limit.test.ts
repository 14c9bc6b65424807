import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_BLOBS } from '../../src/store/pg-locks.js';
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

const probe = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', connectionTimeoutMillis: 2000 });
const hasPostgres = await probe
  .connect()
  .then(async () => (await probe.end(), true))
  .catch(() => false);

/**
 * A downloaded file that waits for its batch to be written no longer holds a slot: the next file's
 * transfer starts. At most as many files wait as there are slots, so a stalled store holds the
 * transfers back. PostgreSQL lets the test stall the commits alone: it holds the blob lock that every
 * batch takes (shared), while claims and downloads go on.
 */
describe.skipIf(!hasPostgres)('slots while files wait for their batch (PostgreSQL)', () => {
  const schema = `cp_slots_${process.pid}_${Date.now().toString(36)}`;
  const url = `postgres://postgres@127.0.0.1:5432/test?schema=${schema}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  let env: S3Env;
  beforeAll(async () => {
    await admin.connect();
    env = await startS3Env(['stall-src']);
    for (let i = 0; i < 12; i++) await env.s3.put('stall-src', `c/${String(i).padStart(3, '0')}`, `stall ${i}`);
  });
  afterAll(async () => {
    await env?.stop();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
  });

  it('--workers 2: while the commits wait, four files are fetched (two slots, two waiting), no more; then all land', async () => {
    const cp = await startCloudport({ dataDir: tempDir(), args: ['--workers', '2', '--database-url', url] });
    const holder = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
    await holder.connect();
    let gets = 0;
    try {
      env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'c/' }, times: Infinity, action: { type: 'before', run: async () => void gets++ } });
      const id = (await cp.ok('create_connector', env.connector('stall-src'))).connector.id;
      gets = 0; // the connector's test may have read one
      await holder.query('SELECT pg_advisory_lock($1, $2)', [...LOCK_BLOBS]);
      const job = await cp.ok('start_import', { connector_id: id, index: 'stall' });
      for (let i = 0; i < 200 && gets < 4; i++) await sleep(50);
      await sleep(800); // time enough for a fifth GET, were one allowed
      expect(gets).toBe(4);
      expect((await cp.ok('import_status', { job_id: job.job_id })).counts.ready).toBe(0);
      await holder.query('SELECT pg_advisory_unlock($1, $2)', [...LOCK_BLOBS]);
      const done = await waitForJob(cp, job.job_id);
      expect(done.counts.ready).toBe(12);
      expect(gets).toBe(12);
    } finally {
      env.proxy.clearFaults();
      await holder.end();
      await cp.close();
    }
  });
});
