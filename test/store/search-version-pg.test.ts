/**
 * A PostgreSQL ranking is kept only while nothing changed. A commit's record is in the WAL before the
 * commit is visible (commit_delay widens that gap here); a search inside the gap ranks without the
 * commit, and the version it keeps the ranking under must not already count the commit, or the stale
 * ranking would be served once the commit is visible. The version is the current snapshot.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/types.js';
import { toPayload } from '../../src/core/search/extractor.js';
import { parseQuery, toFts5, toTsquery } from '../../src/core/search/query.js';

const PG_BASE = 'postgres://postgres@127.0.0.1:5432/test';
const schema = `cps_review2_${process.pid}_${randomBytes(3).toString('hex')}`;
const NOW = '2026-01-01T00:00:00.000Z';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
});
afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
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

it('PostgreSQL: a search during another transaction\'s commit does not keep a ranking that would hide that commit', async () => {
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
