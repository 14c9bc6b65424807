/**
 * PostgreSQL search rankings versioned by the server's snapshot: kept while the store is idle (the job
 * engine's idle statements write nothing), dropped after any commit however it overlaps the version read.
 * (A commit's record is in the WAL before the commit is visible, so the WAL position, the first version
 * tried, kept a ranking that hid a commit made during the search: commit_delay holds that gap open here.)
 * Also migration 11 under concurrent starts.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/types.js';
import { toPayload } from '../../src/core/search/extractor.js';
import { parseQuery, toFts5, toTsquery } from '../../src/core/search/query.js';

const PG_BASE = 'postgres://postgres@127.0.0.1:5432/test';
const schemas: string[] = [];
const newSchema = () => {
  const s = `cps_snap_${process.pid}_${randomBytes(3).toString('hex')}`;
  schemas.push(s);
  return s;
};
const NOW = '2026-01-01T00:00:00.000Z';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
});
afterAll(async () => {
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await admin.end();
});

async function add(s: Store, key: string, content: string) {
  await s.createJob(
    { id: `imp_${key}`, org_id: 'org_a', kind: 'import', connector_id: 'conn_1', index_name: 'idx', params: '{}', status: 'queued', listing_state: null, listing_complete: 1, lease_owner: null, lease_expires: 0, error: null, created_at: NOW },
    [{ key, size: content.length, etag: null, version: 'v' }],
  );
  const [f] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
  await s.commitFile({
    fileId: f!.id, owner: 'A', orgId: 'org_a', connectorId: 'conn_1', index: 'idx', key, sha256: sha(content), size: content.length,
    contentType: 'text/plain', etag: null, version: 'v', dedupe: true, now: new Date().toISOString(),
    text: toPayload({ status: 'extracted', detail: null, text: content, format: 'text', derived: false }),
  });
}

async function setup() {
  const schema = newSchema();
  const s = await PostgresStore.open(`${PG_BASE}?schema=${schema}`);
  for (const k of ['one.txt', 'two.txt', 'three.txt']) await add(s, k, `alpha ${k}`);
  await s.finalizeJobs(new Date().toISOString());
  const q = parseQuery('alpha');
  let rankings = 0;
  const anyS = s as unknown as { candidates: (...a: unknown[]) => unknown };
  const orig = anyS.candidates.bind(s);
  anyS.candidates = (...a: unknown[]) => {
    rankings++;
    return orig(...a);
  };
  const find = async () => (await s.searchTexts('org_a', { fts5: toFts5(q), tsquery: toTsquery(q), offset: 0, limit: 10 })).hits.map((h) => h.key).sort();
  return { s, schema, find, rankings: () => rankings };
}

it('idle engine ticks (finalizeJobs, claimListing, claimFiles) keep the ranking', async () => {
  const { s, find, rankings } = await setup();
  try {
    // (The snapshot is the server's: other tests' commits on the shared server move it too, so a quiet
    // moment is waited for.)
    let kept = false;
    for (let round = 0; round < 50 && !kept; round++) {
      await find();
      const before = rankings();
      for (let i = 0; i < 3; i++) {
        await s.finalizeJobs(new Date().toISOString());
        await s.claimListing('B', 60_000);
        await s.claimFiles('B', 8, 60_000, new Date().toISOString());
      }
      expect(await find()).toEqual(['one.txt', 'three.txt', 'two.txt']);
      kept = rankings() === before;
    }
    expect(kept).toBe(true);
  } finally {
    await s.close();
  }
});

it('a writer that began before the version was read and commits after the ranking: the next search sees it', async () => {
  const { s, schema, find } = await setup();
  const writer = new pg.Client({ connectionString: PG_BASE, options: `-c search_path=${schema}` });
  await writer.connect();
  try {
    await writer.query('BEGIN');
    await writer.query(`DELETE FROM items WHERE key = 'one.txt'`); // holds an xid from here
    expect(await find()).toEqual(['one.txt', 'three.txt', 'two.txt']); // version read and ranking both before the commit
    await writer.query('COMMIT');
    expect(await find()).toEqual(['three.txt', 'two.txt']);
    // a read-only transaction left open does not matter; a writer that rolls back only costs a re-rank
    await writer.query('BEGIN');
    await writer.query(`DELETE FROM items WHERE key = 'two.txt'`);
    expect(await find()).toEqual(['three.txt', 'two.txt']);
    await writer.query('ROLLBACK');
    expect(await find()).toEqual(['three.txt', 'two.txt']);
  } finally {
    await writer.end();
    await s.close();
  }
});

it('migration 11: four processes starting at once on a new schema all open; the option is set and version 11 recorded once', async () => {
  const schema = newSchema();
  const stores = await Promise.all([0, 1, 2, 3].map(() => PostgresStore.open(`${PG_BASE}?schema=${schema}`)));
  try {
    const v = await admin.query(`SELECT version FROM "${schema}".schema_migrations WHERE version = 11`);
    expect(v.rowCount).toBe(1);
    const o = await admin.query(`SELECT c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = 'text_chunks'`, [schema]);
    expect(o.rows[0].reloptions).toEqual(['toast_tuple_target=8160']);
  } finally {
    for (const s of stores) await s.close();
  }
});

it('PostgreSQL: a search during another transaction\'s commit does not keep a ranking that would hide that commit', async () => {
  const schema = newSchema();
  const s = await PostgresStore.open(`${PG_BASE}?schema=${schema}`);
  const writer = new pg.Client({ connectionString: PG_BASE, options: `-c search_path=${schema}` });
  await writer.connect();
  try {
    const keys = Array.from({ length: 6 }, (_, i) => `doc${i}.txt`);
    for (const k of keys) await add(s, k, `alpha ${k}`);
    const q = parseQuery('alpha');
    const find = async () => (await s.searchTexts('org_a', { fts5: toFts5(q), tsquery: toTsquery(q), offset: 0, limit: 10 })).hits.map((h) => h.key).sort();
    expect(await find()).toEqual(keys);
    await writer.query('SET commit_delay = 100000; SET commit_siblings = 0');
    // Another process deletes an item; its commit record is in the WAL 100 ms (commit_delay) before the
    // delete is visible. A search 30 ms into that gap ranks without the delete (a loaded machine can miss
    // the gap: then the next key is tried).
    let hits = 0;
    for (const [i, key] of keys.slice(0, 5).entries()) {
      await writer.query('BEGIN');
      await writer.query(`DELETE FROM items WHERE key = $1`, [key]);
      const committing = writer.query('COMMIT');
      await new Promise((r) => setTimeout(r, 30));
      const during = await find();
      await committing;
      const left = keys.slice(i + 1);
      expect((await admin.query(`SELECT key FROM "${schema}".items ORDER BY key`)).rows.map((r) => r.key)).toEqual(left);
      if (during.includes(key)) hits++;
      // Committed and visible to every new statement: the kept ranking must not answer with it.
      expect(await find()).toEqual(left);
      if (hits >= 2) break;
    }
    expect(hits).toBeGreaterThan(0);
  } finally {
    await writer.end();
    await s.close();
  }
});
