/**
 * PostgreSQL claims (one statement, CLAIM_ONE_TRIP, with the transaction for files that need a decision)
 * under concurrency: several claimers whose workers all die running each file alone (leases of 1 ms)
 * walk every file through attempt 1, the lapsed attempt 2, a backoff, attempt 3 and the give-up. Each (file, attempt) is claimed
 * exactly once, and every file ends failed with "gave up after 3 attempts". Also: a claim whose every
 * picked file is held back.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres.js';
import { LEASE_LAPSED } from '../../src/store/kysely/queue.js';
import type { NewJob, Store } from '../../src/store/types.js';

const PG_BASE = 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `cprc_${process.pid}_${randomBytes(3).toString('hex')}`;
const schemas: string[] = [];
let seq = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterAll(async () => {
  const admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await admin.end();
});

function fresh(): string {
  const schema = `${RUN}_${++seq}`;
  schemas.push(schema);
  return `${PG_BASE}?schema=${schema}`;
}

const job = (id: string, connector_id = 'conn_1'): NewJob => ({
  id, org_id: 'org_a', kind: 'import', connector_id, index_name: 'idx', params: '{}', status: 'queued', listing_state: null,
  listing_complete: 1, lease_owner: null, lease_expires: 0, error: null, created_at: '2026-01-01T00:00:00.000Z',
});
const files = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `f${String(i).padStart(5, '0')}`, size: 1, etag: null, version: 'v' }));

it('PG: concurrent claimers over dying workers: each (file, attempt) claimed once, lapsed errors, backoff, give-up', async () => {
  const url = fresh();
  const stores: Store[] = [];
  for (let i = 0; i < 4; i++) stores.push(await PostgresStore.open(url));
  try {
    const N = 300;
    await stores[0]!.createJob(job('imp_1'), files(N));
    await stores[0]!.createJob(job('imp_2', 'conn_2'), files(N));
    const opts = { maxAttempts: 3, backoffMs: 1 };
    const claims = new Map<string, number>();
    const errs: string[] = [];
    await Promise.all(
      stores.map(async (s, i) => {
        for (let round = 0; round < 4000; round++) {
          const got = await s.claimFiles(`w${i}_${round}`, 7, 60_000, new Date().toISOString(), opts);
          // Each runs alone (its lease lapsing is its own attempt), then its worker dies: its lease lapses at once.
          for (const f of got) expect(await s.markAlone(f.id, `w${i}_${round}`)).toBe(true);
          await s.heartbeat(`w${i}_${round}`, got.map((f) => f.id), [], 1);
          for (const f of got) {
            const k = `${f.id}:${f.attempts}`;
            claims.set(k, (claims.get(k) ?? 0) + 1);
            if (f.attempts === 2 && f.error !== LEASE_LAPSED) errs.push(`${k} ${f.error}`);
            if (f.lease_owner !== `w${i}_${round}` || f.kind !== 'import' || f.index_name !== 'idx') errs.push(`${k} bad row`);
          }
          const p = (await s.jobProgress('imp_1')).counts.failed + (await s.jobProgress('imp_2')).counts.failed;
          if (p === 2 * N) return;
          await sleep(2);
        }
      }),
    );
    const twice = [...claims].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    expect(errs).toEqual([]);
    expect(claims.size).toBe(2 * N * 3);
    for (const id of ['imp_1', 'imp_2']) {
      const all = await stores[0]!.listJobFiles(id, { limit: 1000 });
      expect(all.filter((f) => !(f.status === 'failed' && f.attempts === 3 && f.error?.startsWith('gave up after 3 attempts: ')))).toEqual([]);
      expect((await stores[0]!.getJob('org_a', id))?.status).toBe('running');
    }
  } finally {
    for (const s of stores) await s.close();
  }
});

it('PG: a claim whose every picked file needs a decision decides them and claims nothing else (as the transaction did)', async () => {
  const s = await PostgresStore.open(fresh());
  try {
    await s.createJob(job('imp_1'), files(5));
    const opts = { maxAttempts: 5, backoffMs: 60_000 };
    for (let n = 1; n <= 2; n++) {
      const got = await s.claimFiles(`dead${n}`, 2, 1, new Date().toISOString(), opts);
      expect(got.map((f) => [f.key, f.attempts])).toEqual([['f00000', n], ['f00001', n]]);
      for (const f of got) await s.markAlone(f.id, `dead${n}`);
      await sleep(5);
    }
    expect(await s.claimFiles('A', 2, 60_000, new Date().toISOString(), opts)).toEqual([]);
    const rows = await s.listJobFiles('imp_1', { limit: 10 });
    expect(rows.slice(0, 2)).toMatchObject([{ attempts: 2, lease_owner: null, error: LEASE_LAPSED }, { attempts: 2, lease_owner: null, error: LEASE_LAPSED }]);
    expect((await s.claimFiles('B', 10, 60_000, new Date().toISOString(), opts)).map((f) => f.key)).toEqual(['f00002', 'f00003', 'f00004']);
  } finally {
    await s.close();
  }
});
