/**
 * Store contract suite: the same cases against SQLite (a temp dir) and PostgreSQL (127.0.0.1:5432,
 * user postgres, database `test`, one fresh schema per case, all dropped afterwards). PostgreSQL
 * being unreachable fails the suite; it never skips.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import Database from 'better-sqlite3';
import { SqliteStore, sqliteQueryBuilder } from '../../src/store/sqlite.js';
import { PostgresStore, postgresQueryBuilder } from '../../src/store/postgres.js';
import { openStore } from '../../src/store/index.js';
import { LATEST_VERSION, MIGRATIONS } from '../../src/store/migrations.js';
import type { ListedFile, NewConnector, NewJob, Store } from '../../src/store/types.js';
import { LEASE_LAPSED } from '../../src/store/kysely/queue.js';
import { App } from '../../src/core/app.js';
import { createLogger } from '../../src/shared/log.js';
import { toPayload } from '../../src/core/search/extractor.js';
import { parseQuery, searchExpressions, toFts5, toTsquery } from '../../src/core/search/query.js';

const PG_BASE = 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `cps_${process.pid}_${randomBytes(3).toString('hex')}`;
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-store-'));
const schemas: string[] = [];
let admin: pg.Client;
let seq = 0;

interface Db {
  /** Another store instance (its own connection / pool) on the same database. */
  open(): Promise<Store>;
  url?: string;
  /** SQLite's database file. */
  file?: string;
}

interface Backend {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty database. */
  fresh(): Db;
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    fresh() {
      const dir = path.join(tmpRoot, `db${++seq}`);
      fs.mkdirSync(dir);
      const file = path.join(dir, 'cloudport.db');
      return { file, open: async () => new SqliteStore(file) };
    },
  },
  {
    name: 'postgres',
    fresh() {
      const schema = `${RUN}_${++seq}`;
      schemas.push(schema);
      const url = `${PG_BASE}?schema=${schema}`;
      return { url, open: () => PostgresStore.open(url) };
    },
  },
];

let adminError: unknown = null;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_BASE, connectionTimeoutMillis: 5000 });
  // No skip: without PostgreSQL the reachability case and every PostgreSQL case fail (they are not skipped).
  await admin.connect().catch((e) => (adminError = e));
});

afterAll(async () => {
  if (!adminError) for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await admin?.end().catch(() => {});
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

it('PostgreSQL is reachable at 127.0.0.1:5432 (user postgres, database test)', () => {
  if (adminError) throw adminError;
});

const NOW = '2026-01-01T00:00:00.000Z';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function connector(id: string, over: Partial<NewConnector> = {}): NewConnector {
  return {
    id,
    org_id: 'org_a',
    name: id,
    provider: 's3',
    config: '{}',
    credentials_enc: 'x',
    key_version: 1,
    credentials_info: '{}',
    scopes: '["import"]',
    import_mode: 'full',
    export_base_path: '',
    description: '',
    metadata: '{}',
    status: 'ACTIVE',
    last_sync_at: null,
    last_error: null,
    consecutive_failures: 0,
    created_at: NOW,
    updated_at: NOW,
    ...over,
  };
}

function job(id: string, over: Partial<NewJob> = {}): NewJob {
  return {
    id,
    org_id: 'org_a',
    kind: 'import',
    connector_id: 'conn_1',
    index_name: 'idx',
    params: '{}',
    status: 'queued',
    listing_state: null,
    listing_complete: 1,
    lease_owner: null,
    lease_expires: 0,
    error: null,
    created_at: NOW,
    ...over,
  };
}

const files = (n: number, prefix = 'f'): ListedFile[] => Array.from({ length: n }, (_, i) => ({ key: `${prefix}${String(i).padStart(5, '0')}`, size: 10, etag: `e${i}`, version: `v${i}` }));

function commit(s: Store, f: { id: number; key: string; org_id?: string; index_name?: string }, owner: string, content: string, over: { dedupe?: boolean; text?: boolean } = {}) {
  return s.commitFile({
    fileId: f.id,
    owner,
    orgId: f.org_id ?? 'org_a',
    connectorId: 'conn_1',
    index: f.index_name ?? 'idx',
    key: f.key,
    sha256: sha(content),
    size: content.length,
    contentType: 'text/plain',
    etag: null,
    version: 'v',
    dedupe: over.dedupe ?? true,
    now: new Date().toISOString(),
    ...(over.text ? { text: toPayload({ status: 'extracted', detail: null, text: content, format: 'text', derived: false }) } : {}),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withStores<T>(db: Db, n: number, fn: (...stores: Store[]) => Promise<T>): Promise<T> {
  const stores: Store[] = [];
  try {
    for (let i = 0; i < n; i++) stores.push(await db.open());
    return await fn(...stores);
  } finally {
    for (const s of stores) await s.close();
  }
}

describe.each(backends)('store contract: $name', (b) => {
  it('search: past the chunks a page ranks, the total is estimated for a lone organization and counted where others have items', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      const add = async (org: string, key: string, content: string) => {
        await s.createJob(job(`imp_${org}_${key}`, { org_id: org }), [{ key, size: content.length, etag: null, version: 'v' }]);
        const [f] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
        await commit(s, { id: f!.id, key, org_id: org }, 'A', content, { text: true });
      };
      for (let i = 0; i < 70; i++) await add('org_a', `d${i}`, `common word number ${i}`);
      const q = parseQuery('common');
      const search = () => s.searchTexts('org_a', { fts5: toFts5(q), tsquery: toTsquery(q), offset: 0, limit: 1 });
      expect(await search()).toMatchObject({ total: 70, exact: false });
      await add('org_b', 'other', 'common to org b');
      const r = await search();
      expect(r).toMatchObject({ total: 70, exact: true });
      expect(r.hits).toHaveLength(1);
      // Every match resolved: exact.
      expect(await s.searchTexts('org_a', { fts5: toFts5(q), tsquery: toTsquery(q), offset: 0, limit: 50 })).toMatchObject({ total: 70, exact: true });
    });
  });

  it('search: a repeated query and the next page see what changed since, written by this store or by another process', async () => {
    await withStores(b.fresh(), 2, async (s1, s2) => {
      const add = async (s: Store, key: string, content: string) => {
        await s.createJob(job(`imp_${key}`), [{ key, size: content.length, etag: null, version: 'v' }]);
        const [f] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
        await commit(s, { id: f!.id, key, org_id: 'org_a' }, 'A', content, { text: true });
      };
      const q = parseQuery('alpha');
      const find = async (offset = 0, limit = 10) => {
        const r = await s1.searchTexts('org_a', { fts5: toFts5(q), tsquery: toTsquery(q), offset, limit });
        return { keys: r.hits.map((h) => h.key).sort(), total: r.total };
      };
      await add(s1, 'one.txt', 'alpha beta');
      expect(await find()).toEqual({ keys: ['one.txt'], total: 1 });
      await add(s2, 'two.txt', 'alpha alpha gamma');
      expect(await find()).toEqual({ keys: ['one.txt', 'two.txt'], total: 2 });
      expect((await find(1, 1)).keys).toHaveLength(1);
      await s1.deleteItem('org_a', 'idx', 'two.txt');
      expect(await find()).toEqual({ keys: ['one.txt'], total: 1 });
      await s2.deleteItem('org_a', 'idx', 'one.txt');
      expect(await find()).toEqual({ keys: [], total: 0 });
    });
  });

  it('search: a repeated query and the next page reuse the ranking while nothing changed, on both stores', async () => {
    await withStores(b.fresh(), 2, async (s1, s2) => {
      for (const [i, key] of ['one.txt', 'two.txt', 'three.txt'].entries()) {
        await s1.createJob(job(`imp_${key}`), [{ key, size: 1, etag: null, version: 'v' }]);
        const [f] = await s1.claimFiles('A', 1, 60_000, new Date().toISOString());
        await commit(s1, { id: f!.id, key, org_id: 'org_a' }, 'A', `alpha ${'beta '.repeat(i)}`, { text: true });
      }
      // SQLite reads its change counters, PostgreSQL its WAL insert position: unchanged, the kept ranking answers.
      const rank = vi.spyOn(s1 as unknown as { rank: (...a: unknown[]) => Promise<unknown> }, 'rank');
      const q = parseQuery('alpha');
      const find = async (offset = 0, limit = 10) => (await s1.searchTexts('org_a', { fts5: toFts5(q), tsquery: toTsquery(q), offset, limit })).hits.map((h) => h.key);
      const first = await find();
      expect(first).toHaveLength(3);
      // A repeated query and the next page answer from the kept ranking. (PostgreSQL's snapshot is the
      // server's: another test's commit on the shared server moves it too, so a quiet moment is waited for.)
      let reused = false;
      for (let i = 0; i < 50 && !reused; i++) {
        const before = rank.mock.calls.length;
        expect(await find()).toEqual(first);
        expect(await find(1, 1)).toEqual([first[1]]);
        reused = rank.mock.calls.length === before;
      }
      expect(reused).toBe(true);
      // Another process's commit moves the version: ranked again.
      const before = rank.mock.calls.length;
      await s2.deleteItem('org_a', 'idx', first[0]!);
      expect(await find()).toEqual(first.slice(1));
      expect(rank.mock.calls.length).toBeGreaterThan(before);
    });
  });

  it('search pages: a walk that follows the total (next_cursor while offset + hits < total) reaches every item, when the top chunks are all one document', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      const filler = 'filler words of the paragraph. '.repeat(90);
      const add = async (key: string, content: string) => {
        await s.createJob(job(`imp_${key}`), [{ key, size: content.length, etag: null, version: 'v' }]);
        const [f] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
        await commit(s, { id: f!.id, key }, 'A', content, { text: true });
      };
      // One document whose 30 chunks all outrank everything else (the first estimate sees one item in many chunks) …
      await add('big.txt', Array.from({ length: 30 }, () => `${'alpha '.repeat(20)}${filler}`).join('\n\n'));
      // … then 100 documents of one chunk with one match each.
      for (let d = 0; d < 100; d++) await add(`doc${String(d).padStart(3, '0')}.txt`, `alpha ${d} ${filler}`);
      const q = parseQuery('alpha');
      const seen: string[] = [];
      let last = 0;
      for (let offset = 0; ; ) {
        const { hits, total } = await s.searchTexts('org_a', { fts5: toFts5(q), tsquery: toTsquery(q), offset, limit: 10 });
        seen.push(...hits.map((h) => h.key));
        last = total;
        if (!(offset + hits.length < total)) break;
        offset += hits.length;
      }
      expect(new Set(seen).size).toBe(101);
      expect(seen).toHaveLength(101);
      expect(last).toBe(101); // exact once every match is resolved
    });
  });

  it('search pages: many documents of many matching chunks, any page size, walk every match once in rank order with the total exact', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      // 90 documents of 4–6 chunks each (about 3,000 characters a chunk), every chunk holding "alpha" a different number of times;
      // the top chunks then belong to few documents, so pages need more chunks than they show items.
      const n = 90;
      for (let d = 0; d < n; d++) {
        const chunks = Array.from({ length: 4 + (d % 3) }, (_, c) => `${'alpha '.repeat(1 + ((d * 7 + c * 13) % 29))}${'filler words of the paragraph. '.repeat(100)}`);
        const content = `document ${d}\n\n${chunks.join('\n\n')}`;
        const key = `doc${String(d).padStart(3, '0')}.txt`;
        await s.createJob(job(`imp_${key}`), [{ key, size: content.length, etag: null, version: 'v' }]);
        const [f] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
        await commit(s, { id: f!.id, key }, 'A', content, { text: true });
      }
      const q = parseQuery('alpha');
      const search = (offset: number, limit: number) => s.searchTexts('org_a', { fts5: toFts5(q), tsquery: toTsquery(q), offset, limit });
      const all = await search(0, 500);
      expect(all.hits).toHaveLength(n);
      expect(all.total).toBe(n);
      const scores = all.hits.map((h) => h.score);
      expect(scores).toEqual([...scores].sort((x, y) => y - x));
      for (const limit of [1, 3, 10, 64]) {
        const walked: string[] = [];
        for (let offset = 0; offset < n + limit; offset += limit) {
          const page = await search(offset, limit);
          walked.push(...page.hits.map((h) => h.key));
          if (offset === 0 && limit < n) expect(page.total).toBeGreaterThanOrEqual(limit);
        }
        expect(walked).toEqual(all.hits.map((h) => h.key));
      }
    });
  });

  it('search: words match across the chunks of one document, and an excluded word in any chunk excludes it; a duplicate stands for an original the prefix leaves out', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      const filler = (n: number) => 'Filler sentence of the body text. '.repeat(n);
      const docs: [string, string][] = [
        // A long contract: indemnification on its first page, Delaware on its last, many chunks apart.
        ['contracts/msa.txt', `Indemnification clause first.\n\n${filler(300)}\n\nGoverning law: Delaware.`],
        ['contracts/short.txt', 'Indemnification only, governed elsewhere.'],
        ['contracts/both.txt', 'Indemnification and Delaware in one paragraph.'],
        ['archive/policy.txt', 'Travel economy class policy.'],
        ['current/policy.txt', 'Travel economy class policy.'],
      ];
      const add = async ([key, content]: [string, string]) => {
        await s.createJob(job(`imp_${key}`), [{ key, size: content.length, etag: null, version: 'v' }]);
        const [f] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
        await commit(s, { id: f!.id, key }, 'A', content, { text: true });
      };
      const find = async (query: string, over: Partial<{ prefix: string; limit: number }> = {}) => {
        const r = await s.searchTexts('org_a', { ...searchExpressions(parseQuery(query)), offset: 0, limit: over.limit ?? 10, ...(over.prefix ? { prefix: over.prefix } : {}) });
        return { keys: r.hits.map((h) => h.key).sort(), total: r.total, bodies: r.hits.map((h) => h.body) };
      };
      // Texts of one chunk each: the whole query runs on the chunks.
      for (const d of docs.slice(1)) await add(d);
      expect((await find('indemnification delaware')).keys).toEqual(['contracts/both.txt']);
      expect((await find('indemnification -delaware')).keys).toEqual(['contracts/short.txt']);
      // A text of many chunks arrives: the same searches (kept rankings included) now test each item's whole text.
      await add(docs[0]!);
      expect((await s.readText(sha(docs[0]![1]), 0, 100_000)).length).toBeGreaterThan(2);
      expect((await find('indemnification delaware')).keys).toEqual(['contracts/both.txt', 'contracts/msa.txt']);
      expect((await find('indemnification delaware')).total).toBe(2);
      expect((await find('indemnification -delaware')).keys).toEqual(['contracts/short.txt']);
      expect((await find('governing -indemnification')).keys).toEqual([]);
      expect((await find('"indemnification clause" delaware')).keys).toEqual(['contracts/msa.txt']);
      expect((await find('(delaware OR elsewhere) indemnification')).keys).toEqual(['contracts/both.txt', 'contracts/msa.txt', 'contracts/short.txt']);
      // A phrase stays within a chunk; a page of one item still counts the rest.
      expect((await find('"clause delaware"')).keys).toEqual([]);
      expect((await find('indemnification delaware', { limit: 1 })).total).toBe(2);
      // The hit's place is a chunk that holds a matching word.
      for (const body of (await find('indemnification delaware')).bodies) expect(body).toMatch(/indemnification|delaware/i);
      // current/policy.txt duplicates archive/policy.txt: found for it under current/, left out where the original shows.
      expect((await find('economy')).keys).toEqual(['archive/policy.txt']);
      expect((await find('economy', { prefix: 'current/' })).keys).toEqual(['current/policy.txt']);
      expect((await find('economy', { prefix: 'archive/' })).keys).toEqual(['archive/policy.txt']);
      expect((await find('economy -travel', { prefix: 'current/' })).keys).toEqual([]);
      // Where other organizations have items the total is counted, with the same test per item.
      const other = 'Indemnification here, Delaware there, org b only.';
      await s.createJob(job('imp_b', { org_id: 'org_b' }), [{ key: 'b.txt', size: other.length, etag: null, version: 'v' }]);
      const [fb] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
      await commit(s, { id: fb!.id, key: 'b.txt', org_id: 'org_b' }, 'A', other, { text: true });
      for (let i = 0; i < 70; i++) {
        const content = `Indemnification note ${i} for Delaware.`;
        await s.createJob(job(`imp_bulk${i}`), [{ key: `bulk/${i}.txt`, size: content.length, etag: null, version: 'v' }]);
        const [f] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
        await commit(s, { id: f!.id, key: `bulk/${i}.txt` }, 'A', content, { text: true });
      }
      expect((await find('indemnification delaware', { limit: 1 })).total).toBe(72);
      expect((await find('indemnification -delaware', { limit: 1 })).total).toBe(1);
      expect((await find('indemnification delaware', { limit: 100 })).keys).toHaveLength(72);
    });
  });

  it('search: the same queries find the same items on both stores, per organization, and texts go with their last item', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      const docs: [string, string, string][] = [
        ['org_a', 'contract.txt', 'The Governing Law of Delaware applies. Zürich office signs.'],
        ['org_a', 'memo.txt', 'Law firm memo: governing committee meets in Zurich; e-mail follows.'],
        ['org_a', 'long.txt', `${'filler words here. '.repeat(400)}\n\nThe needle paragraph sits deep inside.\n\n${'more filler text. '.repeat(400)}`],
        ['org_b', 'secret.txt', 'Governing law of Delaware, org b only.'],
      ];
      for (const [org, key, content] of docs) {
        await s.createJob(job(`imp_${key}`, { org_id: org }), [{ key, size: content.length, etag: null, version: 'v' }]);
        const [f] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
        expect(await commit(s, { id: f!.id, key, org_id: org }, 'A', content, { text: true })).toMatchObject({ status: 'ready' });
      }
      const find = async (query: string, org = 'org_a', over: Partial<{ prefix: string; indexes: string[]; offset: number; limit: number }> = {}) => {
        const q = parseQuery(query);
        const r = await s.searchTexts(org, { fts5: toFts5(q), tsquery: toTsquery(q), offset: 0, limit: 10, ...over });
        return r.hits.map((h) => h.key).sort();
      };
      expect(await find('delaware')).toEqual(['contract.txt']);
      expect(await find('zurich')).toEqual(['contract.txt', 'memo.txt']);
      expect(await find('"governing law"')).toEqual(['contract.txt']);
      expect(await find('governing law')).toEqual(['contract.txt', 'memo.txt']);
      expect(await find('govern*')).toEqual(['contract.txt', 'memo.txt']);
      expect(await find('delaware OR committee')).toEqual(['contract.txt', 'memo.txt']);
      expect(await find('governing -delaware')).toEqual(['memo.txt']);
      expect(await find('"e mail"')).toEqual(['memo.txt']);
      expect(await find('delaware', 'org_b')).toEqual(['secret.txt']);
      expect(await find('zurich', 'org_a', { prefix: 'mem' })).toEqual(['memo.txt']);
      expect(await find('zurich', 'org_a', { prefix: 'mem\uffff' })).toEqual([]);
      expect(await find('zurich', 'org_a', { prefix: 'memo.txt' })).toEqual(['memo.txt']);
      expect(await find('zurich', 'org_a', { indexes: ['other'] })).toEqual([]);
      const page = await s.searchTexts('org_a', { fts5: toFts5(parseQuery('zurich')), tsquery: toTsquery(parseQuery('zurich')), offset: 0, limit: 1 });
      expect(page.total).toBe(2);
      // A long text is indexed in chunks: the hit is the chunk holding the word, at its offset.
      const needle = parseQuery('needle');
      const [hit] = (await s.searchTexts('org_a', { fts5: toFts5(needle), tsquery: toTsquery(needle), offset: 0, limit: 1 })).hits;
      const long = docs[2]![2];
      expect(hit!.off).toBeGreaterThan(0);
      expect(hit!.body).toContain('needle');
      expect(long.indexOf(hit!.body)).toBe(hit!.off);
      // read back by offset: the chunks covering the window, in order.
      const chunks = await s.readText(sha(long), hit!.off + 10, 100);
      expect(chunks[0]!.off).toBe(hit!.off);
      expect((await s.textInfo([sha(long)])).get(sha(long))).toMatchObject({ status: 'extracted', derived: false, bytes: long.length });
      // The text goes when the last item holding its content goes.
      await s.deleteItem('org_a', 'idx', 'contract.txt');
      expect(await find('delaware')).toEqual([]);
      expect(await s.gcBlobs([sha(docs[0]![2])], () => undefined)).toBe(1);
      expect((await s.textsKnown([sha(docs[0]![2]), sha(long)]))).toEqual(new Set([sha(long)]));
      expect(await s.itemsToExtract('org_a', 'idx', { limit: 10 })).toEqual([]);
      expect((await s.itemsToExtract('org_a', 'idx', { limit: 10, all: true })).map((r) => r.key)).toEqual(['long.txt', 'memo.txt']);
      // Search's hint: which indexes hold items without text, asked again after the store changed.
      expect(await s.indexesWithoutText('org_a', ['idx', 'other'])).toEqual([]);
      await s.createJob(job('imp_plain', { org_id: 'org_a' }), [{ key: 'plain.txt', size: 5, etag: null, version: 'v' }]);
      const [plain] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
      await commit(s, { id: plain!.id, key: 'plain.txt' }, 'A', 'plain');
      expect(await s.indexesWithoutText('org_a', ['idx', 'other'])).toEqual(['idx']);
      expect(await s.indexesWithoutText('org_b', ['idx'])).toEqual([]);
      await s.saveText(sha('plain'), { status: 'extracted', detail: null, format: 'text', derived: false, bytes: 5, chunks: [{ seq: 0, off: 0, body: 'plain' }] }, new Date().toISOString());
      expect(await s.indexesWithoutText('org_a', ['idx', 'other'])).toEqual([]);
    });
  });

  it('search: words of every script fold alike in texts and queries; a database indexed by older folding rules is refolded when opened', async () => {
    const docs: [string, string][] = [
      ['hindi.txt', 'हिन्दी भाषा का साहित्य'],
      ['greek.txt', 'ΟΔΟΣ ΚΑΙ ΚΑΛΗΜΈΡΑ'],
      ['soft.txt', 'An exam\u00adple with a soft hyphen and a zero\u200dwidth joiner.'],
      ['arabic.txt', 'كَتَبَ الْكِتَابَ'],
      ['hebrew.txt', 'שָׁלוֹם עוֹלָם'],
      ['nfd.txt', 'Zu\u0308rich and \u0438\u0306\u043e\u0434'],
    ];
    const db = b.fresh();
    const finder = (s: Store) => async (query: string) => {
      const q = parseQuery(query);
      return (await s.searchTexts('org_a', { fts5: toFts5(q), tsquery: toTsquery(q), offset: 0, limit: 10 })).hits.map((h) => h.key).sort();
    };
    const expectations = async (s: Store) => {
      const find = finder(s);
      expect(await find('हिन्दी')).toEqual(['hindi.txt']);
      // One word, not its pieces between vowel signs: a piece alone finds nothing.
      expect(await find('ह')).toEqual([]);
      expect(await find('"भाषा का"')).toEqual(['hindi.txt']);
      expect(await find('οδοσ')).toEqual(['greek.txt']);
      expect(await find('οδος καλημερα')).toEqual(['greek.txt']);
      expect(await find('example')).toEqual(['soft.txt']);
      expect(await find('zerowidth')).toEqual(['soft.txt']);
      expect(await find('كتب')).toEqual(['arabic.txt']);
      expect(await find('الكتاب')).toEqual(['arabic.txt']);
      expect(await find('שלום')).toEqual(['hebrew.txt']);
      expect(await find('zürich')).toEqual(['nfd.txt']);
      expect(await find('\u0439\u043e\u0434')).toEqual(['nfd.txt']);
      expect(await find('иод')).toEqual([]);
    };
    await withStores(db, 1, async (s) => {
      for (const [key, content] of docs) {
        await s.createJob(job(`imp_${key}`), [{ key, size: content.length, etag: null, version: 'v' }]);
        const [f] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
        expect(await commit(s, { id: f!.id, key }, 'A', content, { text: true })).toMatchObject({ status: 'ready' });
      }
      await expectations(s);
    });
    // As a database indexed by the previous rules: its words do not answer today's queries, and the
    // migration that changed the rules is not applied yet.
    if (b.name === 'sqlite') {
      const raw = new Database(db.file!);
      raw.exec("INSERT INTO text_fts(text_fts) VALUES ('delete-all'); DELETE FROM schema_migrations WHERE version = 18");
      raw.close();
    } else {
      const schema = new URL(db.url!).searchParams.get('schema');
      await admin.query(`UPDATE "${schema}".text_chunks SET tsv = ''::tsvector; DELETE FROM "${schema}".schema_migrations WHERE version = 18`);
    }
    await withStores(db, 1, async (s) => {
      await expectations(s);
      // Chunks deleted after the refold leave nothing behind (SQLite's delete trigger folds as the refold did).
      await s.deleteItem('org_a', 'idx', 'hindi.txt');
      expect(await finder(s)('हिन्दी')).toEqual([]);
    });
  });

  it('connectors: CRUD, organizations isolated, names unique per organization', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      await s.insertConnector(connector('conn_1', { name: 'media' }));
      await s.insertConnector(connector('conn_2', { name: 'media', org_id: 'org_b' }));
      await expect(s.insertConnector(connector('conn_3', { name: 'media' }))).rejects.toThrow(/UNIQUE/);
      expect((await s.getConnector('org_a', 'conn_1'))?.name).toBe('media');
      expect(await s.getConnector('org_b', 'conn_1')).toBeNull();
      expect((await s.findConnectorByName('org_b', 'media'))?.id).toBe('conn_2');
      expect(await s.countConnectors()).toBe(2);
      for (let i = 0; i < 5; i++) await s.insertConnector(connector(`conn_p${i}`, { name: `p${i}`, status: i % 2 ? 'SUSPENDED' : 'ACTIVE' }));
      const page1 = await s.listConnectors('org_a', { limit: 4 });
      expect(page1.rows.map((r) => r.id)).toEqual(['conn_1', 'conn_p0', 'conn_p1', 'conn_p2']);
      const page2 = await s.listConnectors('org_a', { limit: 4, after: page1.next! });
      expect(page2).toEqual({ rows: [expect.objectContaining({ id: 'conn_p3' }), expect.objectContaining({ id: 'conn_p4' })], next: null });
      expect((await s.listConnectors('org_a', { status: 'SUSPENDED', limit: 10 })).rows.map((r) => r.id)).toEqual(['conn_p1', 'conn_p3']);
      expect(await s.updateConnector('org_b', 'conn_1', { description: 'x' })).toBeNull();
      expect((await s.updateConnector('org_a', 'conn_1', { description: 'hello' }))?.description).toBe('hello');
      expect(await s.deleteConnector('org_b', 'conn_1')).toBe(false);
      expect(await s.deleteConnector('org_a', 'conn_1')).toBe(true);
      expect(await s.getConnector('org_a', 'conn_1')).toBeNull();
    });
  });

  it('health: FAILED after 5 failures in a row, ACTIVE again after a success; concurrent outcomes all count', async () => {
    await withStores(b.fresh(), 2, async (s, t) => {
      await s.insertConnector(connector('conn_1'));
      for (let i = 1; i <= 4; i++) expect((await s.recordHealth('org_a', 'conn_1', { ok: false, error: 'denied', failAfter: 5, now: NOW }))?.status).toBe('ACTIVE');
      const failed = await s.recordHealth('org_a', 'conn_1', { ok: false, error: 'denied', failAfter: 5, now: NOW });
      expect(failed).toMatchObject({ status: 'FAILED', consecutive_failures: 5, last_error: 'denied' });
      const ok = await s.recordHealth('org_a', 'conn_1', { ok: true, synced: true, failAfter: 5, now: NOW });
      expect(ok).toMatchObject({ status: 'ACTIVE', consecutive_failures: 0, last_error: null, last_sync_at: NOW });
      expect(await s.recordHealth('org_b', 'conn_1', { ok: false, failAfter: 5, now: NOW })).toBeNull();
      await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? s : t).recordHealth('org_a', 'conn_1', { ok: false, error: 'e', failAfter: 100, now: NOW })));
      expect((await s.getConnector('org_a', 'conn_1'))?.consecutive_failures).toBe(8);
    });
  });

  it('jobs: createJob, listing lease, appendListing, takeover after the lease expires', async () => {
    await withStores(b.fresh(), 2, async (s, t) => {
      await s.createJob(job('imp_1', { listing_complete: 0, listing_state: 'p1' }), files(3));
      expect((await s.getJob('org_a', 'imp_1'))?.status).toBe('queued');
      expect(await s.getJob('org_b', 'imp_1')).toBeNull();
      const l = await s.claimListing('A', 60_000);
      expect(l).toMatchObject({ id: 'imp_1', lease_owner: 'A', status: 'running', listing_state: 'p1' });
      expect(await t.claimListing('B', 60_000)).toBeNull();
      expect(await t.appendListing('imp_1', 'B', files(2, 'b'), 'x', false, 60_000)).toBe(false);
      expect(await s.appendListing('imp_1', 'A', files(2, 'g'), 'p2', false, 60_000)).toBe(true);
      expect((await s.jobProgress('imp_1')).counts.pending).toBe(5);
      // The lease runs out: another process takes the listing over and finishes it.
      expect(await s.appendListing('imp_1', 'A', [], 'p3', false, 1)).toBe(true);
      await sleep(10);
      expect(await t.claimListing('B', 60_000)).toMatchObject({ id: 'imp_1', listing_state: 'p3', lease_owner: 'B' });
      expect(await s.appendListing('imp_1', 'A', files(1, 'late'), null, true, 60_000)).toBe(false);
      expect(await t.appendListing('imp_1', 'B', [...files(1, 'h'), { key: 'skip', size: 1, etag: null, version: null, status: 'skipped' }], null, true, 60_000)).toBe(true);
      const j = (await s.getJob('org_a', 'imp_1'))!;
      expect(j).toMatchObject({ listing_complete: 1, lease_owner: null, lease_expires: 0 });
      expect(await s.jobProgress('imp_1')).toEqual({ counts: { pending: 6, ready: 0, deduped: 0, skipped: 1, failed: 0, canceled: 0 }, bytes_done: 0, bytes_total: 60 });
      expect(await s.claimListing('A', 60_000)).toBeNull();
      // A failed listing ends the listing short of its end (2) and records the error.
      await s.createJob(job('imp_2', { listing_complete: 0 }), []);
      expect((await s.claimListing('A', 60_000))?.id).toBe('imp_2');
      await s.failListing('imp_2', 'A', 'access denied', NOW);
      expect(await s.getJob('org_a', 'imp_2')).toMatchObject({ error: 'access denied', listing_complete: 2 });
      expect(await s.countActiveJobs('org_a', 'conn_1')).toBe(2);
      expect(await s.countActiveJobsForIndex('org_a', 'idx')).toBe(2);
      const listed = await s.listJobFiles('imp_1', { limit: 3 });
      expect(listed.map((f) => f.key)).toEqual(['f00000', 'f00001', 'f00002']);
      expect((await s.listJobFiles('imp_1', { limit: 10, afterId: listed[2]!.id, status: 'skipped' })).map((f) => f.key)).toEqual(['skip']);
    });
  });

  it('claimFiles: several store instances claiming 2,000 files at once never overlap', async () => {
    const n = b.name === 'postgres' ? 3 : 2;
    await withStores(b.fresh(), n, async (...stores) => {
      await stores[0]!.createJob(job('imp_1'), files(1200));
      await stores[0]!.createJob(job('imp_2', { connector_id: 'conn_2' }), files(800));
      const claimed = await Promise.all(
        stores.map(async (s, i) => {
          const mine: number[] = [];
          for (;;) {
            const got = await s.claimFiles(`owner${i}`, 16, 60_000, new Date().toISOString());
            if (!got.length) return mine;
            for (const f of got) expect(f).toMatchObject({ lease_owner: `owner${i}`, attempts: 1, index_name: 'idx', kind: 'import' });
            mine.push(...got.map((f) => f.id));
          }
        }),
      );
      const all = claimed.flat();
      expect(all).toHaveLength(2000);
      expect(new Set(all).size).toBe(2000);
      if (b.name === 'postgres') for (const c of claimed) expect(c.length).toBeGreaterThan(0);
      expect((await stores[0]!.getJob('org_a', 'imp_1'))?.status).toBe('running');
      // excludeConnectors leaves a connector's files alone.
      await stores[0]!.createJob(job('imp_3', { connector_id: 'conn_3' }), files(2));
      await stores[0]!.createJob(job('imp_4', { connector_id: 'conn_4' }), files(2));
      const some = await stores[0]!.claimFiles('x', 10, 60_000, NOW, { excludeConnectors: ['conn_3'] });
      expect(some.map((f) => f.connector_id)).toEqual(['conn_4', 'conn_4']);
    });
  });

  it('leases: an expired file lease is taken over; the old owner can no longer commit; heartbeat reports lost files', async () => {
    await withStores(b.fresh(), 2, async (s, t) => {
      await s.createJob(job('imp_1'), files(3));
      const a = await s.claimFiles('A', 3, 1, NOW);
      expect(a).toHaveLength(3);
      await sleep(10);
      const bfiles = await t.claimFiles('B', 1, 60_000, NOW);
      // (A held it beside two others: the lapse is not charged to it; it is marked to run alone.)
      expect(bfiles).toMatchObject([{ id: a[0]!.id, lease_owner: 'B', attempts: 1, error: LEASE_LAPSED }]);
      expect(await commit(s, a[0]!, 'A', 'x')).toBeNull();
      expect(await s.markHashed(a[0]!.id, 'A', sha('x'))).toBe(false);
      const hb = await s.heartbeat('A', a.map((f) => f.id), [], 60_000);
      expect(hb.lostFiles).toEqual([a[0]!.id]);
      // A renewed the other two: B cannot take them.
      expect(await t.claimFiles('B', 5, 60_000, NOW)).toEqual([]);
      await s.failFile(a[1]!.id, 'A', 'boom', null);
      await s.failFile(a[2]!.id, 'A', 'later', Date.now() + 60_000); // retry later: still pending, unleased
      expect((await s.heartbeat('A', [a[1]!.id, a[2]!.id], [], 60_000)).lostFiles).toEqual([a[1]!.id, a[2]!.id]);
      expect((await s.jobProgress('imp_1')).counts).toMatchObject({ pending: 2, failed: 1 });
      // releaseLeases hands B's file back at once.
      await t.releaseLeases('B');
      const again = await s.claimFiles('A', 5, 60_000, NOW);
      expect(again.map((f) => f.id)).toEqual([a[0]!.id]);
      // Leases are written on the store's clock (PostgreSQL: the server's, shared by every host).
      const storeNow = b.name === 'postgres' ? Number((await admin.query('SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS t')).rows[0].t) : Date.now();
      expect(Math.abs(again[0]!.lease_expires - 60_000 - storeNow)).toBeLessThan(5_000);
    });
  });

  it('attempts: a file is claimed at most maxAttempts times, then fails with "gave up after N attempts: <last error>"; released leases do not count', async () => {
    await withStores(b.fresh(), 2, async (s, t) => {
      await s.createJob(job('imp_1'), files(2));
      const opts = { maxAttempts: 3, backoffMs: 1 };
      // A clean shutdown hands work back: however often, it never counts as an attempt.
      for (let i = 0; i < 4; i++) {
        expect(await s.claimFiles('A', 2, 60_000, NOW, opts)).toMatchObject([{ key: 'f00000', attempts: 1 }, { key: 'f00001', attempts: 1 }]);
        await s.releaseLeases('A');
      }
      // deferFile (the store, not the file, was the trouble) hands it back with a note, without counting the claim.
      for (let i = 0; i < 4; i++) {
        const [f0] = await s.claimFiles('A', 1, 60_000, NOW, opts);
        expect(f0).toMatchObject({ key: 'f00000', attempts: 1 });
        await s.deferFile(f0!.id, 'A', 0, 'store full: database or disk is full');
        expect((await s.listJobFiles('imp_1', { limit: 1 }))[0]).toMatchObject({ status: 'pending', attempts: 0, lease_owner: null, error: 'store full: database or disk is full' });
      }
      await s.setMeta('k', 'one');
      await s.setMeta('k', 'two');
      expect(await s.getMeta('k')).toBe('two');
      await s.deleteMeta('k');
      expect(await s.getMeta('k')).toBeNull();
      // f00000: each worker dies holding it alone (its lease runs out); f00001: handed back with an error and a retry time.
      let seen = 0;
      for (let round = 0; seen < 3 && round < 200; round++) {
        const got = await (round % 2 ? t : s).claimFiles(`w${round}`, 2, 60_000, NOW, opts);
        for (const f of got) {
          if (f.key === 'f00000') {
            expect(f.attempts).toBe(++seen);
            expect(await (round % 2 ? t : s).markAlone(f.id, `w${round}`)).toBe(true);
            // Its worker dies: the lease runs out at once.
            await (round % 2 ? t : s).heartbeat(`w${round}`, [f.id], [], 1);
          } else await (round % 2 ? t : s).failFile(f.id, `w${round}`, `timeout talking to S3 (try ${f.attempts})`, 0);
        }
        await sleep(5);
      }
      expect(seen).toBe(3);
      await sleep(5);
      // Past the cap: nothing more to claim; both files failed with their last error.
      for (let i = 0; i < 50 && (await s.jobProgress('imp_1')).counts.failed < 2; i++) {
        expect(await s.claimFiles('x', 2, 60_000, NOW, opts)).toEqual([]);
        await sleep(5);
      }
      const byKey = new Map((await s.listJobFiles('imp_1', { limit: 10 })).map((f) => [f.key, f]));
      expect(byKey.get('f00000')).toMatchObject({ status: 'failed', attempts: 3, lease_owner: null, error: expect.stringMatching(/^gave up after 3 attempts: .*lease (ran out|expired)/) });
      expect(byKey.get('f00001')).toMatchObject({ status: 'failed', attempts: 3, error: 'gave up after 3 attempts: timeout talking to S3 (try 3)' });
      expect(await s.claimFiles('x', 2, 60_000, NOW, opts)).toEqual([]);
      // The job's log says so, and the job ends.
      const logs = (await s.listLogs('org_a', { jobId: 'imp_1', limit: 10 })).map((l) => l.message);
      expect(logs.filter((m) => m.startsWith('gave up after 3 attempts'))).toHaveLength(2);
      expect((await s.finalizeJobs(NOW)).map((j) => [j.id, j.status])).toEqual([['imp_1', 'failed']]);
      // The default cap is 5.
      await s.createJob(job('imp_2'), files(1));
      for (let n = 1; n <= 5; n++) {
        expect(await s.claimFiles('d', 1, 60_000, NOW)).toMatchObject([{ attempts: n }]);
        await s.failFile((await s.listJobFiles('imp_2', { limit: 1 }))[0]!.id, 'd', 'nope', 0);
      }
      expect(await s.claimFiles('d', 1, 60_000, NOW)).toEqual([]);
      expect((await s.listJobFiles('imp_2', { limit: 1 }))[0]).toMatchObject({ status: 'failed', error: 'gave up after 5 attempts: nope' });
    });
  });

  it('a claim that meets a file needing a decision (its lease lapsed again) leases the others as before and backs that one off', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      await s.createJob(job('imp_1'), files(4));
      const opts = { maxAttempts: 5, backoffMs: 60_000 };
      // f00000's worker dies twice holding it alone: its next claim must wait a backoff.
      for (let n = 1; n <= 2; n++) {
        const [f] = await s.claimFiles(`dead${n}`, 1, 1, NOW, opts);
        expect(f).toMatchObject({ key: 'f00000', attempts: n });
        expect(await s.markAlone(f!.id, `dead${n}`)).toBe(true);
        await sleep(5);
      }
      const got = await s.claimFiles('A', 3, 60_000, NOW, opts);
      expect(got.map((f) => [f.key, f.attempts, f.lease_owner, f.connector_id, f.index_name, f.kind])).toEqual([
        ['f00001', 1, 'A', 'conn_1', 'idx', 'import'],
        ['f00002', 1, 'A', 'conn_1', 'idx', 'import'],
      ]);
      expect((await s.listJobFiles('imp_1', { limit: 1 }))[0]).toMatchObject({ key: 'f00000', status: 'pending', attempts: 2, lease_owner: null, error: LEASE_LAPSED });
      expect((await s.claimFiles('B', 3, 60_000, NOW, opts)).map((f) => f.key)).toEqual(['f00003']);
      expect(await s.claimFiles('C', 3, 60_000, NOW, opts)).toEqual([]);
    });
  });

  it('a lease that lapses beside other files is not charged and is marked to run alone; one that lapses alone is; releaseLeases(owner, ids) hands back only those', async () => {
    await withStores(b.fresh(), 2, async (s, t) => {
      await s.createJob(job('imp_1'), files(3));
      const opts = { maxAttempts: 2, backoffMs: 1 };
      // Workers die holding all three, many times: no attempt is used up, however often.
      for (let round = 0; round < 4; round++) {
        const got = await (round % 2 ? t : s).claimFiles(`w${round}`, 3, 1, NOW, opts);
        expect(got.map((f) => [f.key, f.attempts, f.error])).toEqual(files(3).map((f) => [f.key, 1, round ? LEASE_LAPSED : null]));
        await sleep(5);
      }
      // The holder starts f00000 alone and dies: that counts, and with maxAttempts 2 it fails at the next claim.
      const [f0, ...rest] = await s.claimFiles('solo', 3, 1, NOW, opts);
      expect(f0).toMatchObject({ key: 'f00000', attempts: 1, alone: 0 });
      // Marking needs the lease: another owner cannot, nor a file handed back.
      expect(await t.markAlone(f0!.id, 'other')).toBe(false);
      expect(await s.markAlone(f0!.id, 'solo')).toBe(true);
      await s.releaseLeases('solo', rest.map((f) => f.id));
      expect(await s.markAlone(rest[0]!.id, 'solo')).toBe(false);
      await sleep(5);
      const next = await t.claimFiles('B', 3, 60_000, NOW, opts);
      expect(next.map((f) => [f.key, f.attempts, f.alone])).toEqual([['f00000', 2, 0], ['f00001', 1, 0], ['f00002', 1, 0]]);
      expect(await t.markAlone(next[0]!.id, 'B')).toBe(true);
      // B's lease on f00000 lapses too (alone): its third claim gives up after 2 attempts.
      await t.heartbeat('B', [next[0]!.id], [], 1);
      await sleep(5);
      for (const f of next.slice(1)) await t.failFile(f.id, 'B', 'boom', null);
      expect(await s.claimFiles('C', 3, 60_000, NOW, opts)).toEqual([]);
      expect((await s.listJobFiles('imp_1', { limit: 1 }))[0]).toMatchObject({ status: 'failed', error: `gave up after 2 attempts: ${LEASE_LAPSED}` });
    });
  });

  it('commitFile: dedupe by content per index, dedupe: false, replace under the same key', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      await s.createJob(job('imp_1'), [...files(4), { key: 'other', size: 1, etag: null, version: null }]);
      const f = await s.claimFiles('A', 10, 60_000, NOW);
      expect(await commit(s, f[0]!, 'A', 'same')).toEqual({ status: 'ready', duplicate_of: null });
      expect(await commit(s, f[1]!, 'A', 'same')).toEqual({ status: 'deduped', duplicate_of: 'f00000' });
      expect(await commit(s, f[2]!, 'A', 'same', { dedupe: false })).toEqual({ status: 'ready', duplicate_of: null });
      expect(await commit(s, f[3]!, 'A', 'same', { dedupe: true })).toEqual({ status: 'deduped', duplicate_of: 'f00000' });
      expect(await commit(s, f[3]!, 'A', 'same')).toBeNull(); // no longer pending
      // Another index does not dedupe against this one.
      expect(await commit(s, { ...f[4]!, index_name: 'idx2' }, 'A', 'same')).toEqual({ status: 'ready', duplicate_of: null });
      // Same key again: same content is deduped against itself, new content replaces the item.
      await s.createJob(job('imp_2'), [{ key: 'f00000', size: 1, etag: null, version: null }, { key: 'f00002', size: 1, etag: null, version: null }]);
      const g = await s.claimFiles('A', 10, 60_000, NOW);
      expect(await commit(s, g[0]!, 'A', 'same')).toEqual({ status: 'deduped', duplicate_of: 'f00000' });
      expect(await commit(s, g[1]!, 'A', 'new content')).toEqual({ status: 'ready', duplicate_of: null, replaced: sha('same') });
      expect((await s.getItem('org_a', 'idx', 'f00002'))?.sha256).toBe(sha('new content'));
      expect(await s.seenVersions('org_a', 'conn_1', 'idx', ['f00000', 'f00001', 'nope'])).toEqual(new Map([['f00000', 'v'], ['f00001', 'v']]));
      expect(await s.jobProgress('imp_1')).toEqual({ counts: { pending: 0, ready: 3, deduped: 2, skipped: 0, failed: 0, canceled: 0 }, bytes_done: 20, bytes_total: 20 });
    });
  });

  it('duplicates are items: each key readable with duplicate_of naming the key that holds the content; delete and new content promote the next; re-commits add no rows', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      const listed = (keys: string[]): ListedFile[] => keys.map((key) => ({ key, size: 1, etag: null, version: null }));
      await s.createJob(job('imp_1'), listed(['same/1', 'same/2', 'same/3', 'empty/1', 'empty/2', 'empty/3', 'own', 'lone']));
      const f = new Map((await s.claimFiles('A', 20, 60_000, NOW)).map((x) => [x.key, x]));
      const put = (key: string, content: string, over: { dedupe?: boolean } = {}) => commit(s, f.get(key)!, 'A', content, over);
      expect(await put('same/1', 'same')).toEqual({ status: 'ready', duplicate_of: null });
      expect(await put('same/2', 'same')).toEqual({ status: 'deduped', duplicate_of: 'same/1' });
      expect(await put('same/3', 'same')).toEqual({ status: 'deduped', duplicate_of: 'same/1' });
      expect(await put('empty/1', '')).toEqual({ status: 'ready', duplicate_of: null });
      expect(await put('empty/2', '')).toEqual({ status: 'deduped', duplicate_of: 'empty/1' });
      expect(await put('empty/3', '')).toEqual({ status: 'deduped', duplicate_of: 'empty/1' });
      // dedupe: false: its own item (an original), though the blob is the same one.
      expect(await put('own', 'same', { dedupe: false })).toEqual({ status: 'ready', duplicate_of: null });
      expect(await put('lone', 'lone')).toEqual({ status: 'ready', duplicate_of: null });
      const rows = async () => (await s.listItems('org_a', 'idx', { limit: 100 })).map((i) => [i.key, i.duplicate_of, i.sha256, i.size]);
      expect(await rows()).toEqual([
        ['empty/1', null, sha(''), 0],
        ['empty/2', 'empty/1', sha(''), 0],
        ['empty/3', 'empty/1', sha(''), 0],
        ['lone', null, sha('lone'), 4],
        ['own', null, sha('same'), 4],
        ['same/1', null, sha('same'), 4],
        ['same/2', 'same/1', sha('same'), 4],
        ['same/3', 'same/1', sha('same'), 4],
      ]);
      expect(await s.getItem('org_a', 'idx', 'same/3')).toMatchObject({ sha256: sha('same'), size: 4, duplicate_of: 'same/1', content_type: 'text/plain' });
      // Every key is an item; bytes count content a duplicate shares once.
      expect(await s.listIndexes('org_a', { limit: 10 })).toEqual([{ name: 'idx', items: 8, bytes: 12, updated_at: expect.any(String) }]);
      expect((await s.jobProgress('imp_1')).counts).toMatchObject({ ready: 4, deduped: 4, pending: 0 });

      // Deleting the key that holds the content: the first duplicate by key holds it now, the others name it.
      expect(await s.deleteItem('org_a', 'idx', 'same/1')).toBe(sha('same'));
      expect(await s.blobReferenced(sha('same'))).toBe(true);
      expect(await s.gcBlobs([sha('same')], () => undefined)).toBe(0);
      expect((await s.getItem('org_a', 'idx', 'same/2'))?.duplicate_of).toBeNull();
      expect((await s.getItem('org_a', 'idx', 'same/3'))?.duplicate_of).toBe('same/2');
      // Deleting a duplicate moves nothing.
      expect(await s.deleteItem('org_a', 'idx', 'empty/3')).toBe(sha(''));
      expect((await s.getItem('org_a', 'idx', 'empty/2'))?.duplicate_of).toBe('empty/1');

      // Re-committing a duplicate's key with the same content adds no row and names the same original;
      // new content under the original promotes its duplicate; a new twin names an original, never a duplicate.
      await s.createJob(job('imp_2'), listed(['same/3', 'same/2', 'empty/2', 'new']));
      const g = new Map((await s.claimFiles('B', 20, 60_000, NOW)).map((x) => [x.key, x]));
      const again = (key: string, content: string) => commit(s, g.get(key)!, 'B', content);
      expect(await again('same/3', 'same')).toEqual({ status: 'deduped', duplicate_of: 'same/2' });
      expect(await again('same/2', 'changed')).toEqual({ status: 'ready', duplicate_of: null, replaced: sha('same') });
      expect((await s.getItem('org_a', 'idx', 'same/3'))?.duplicate_of).toBeNull();
      expect(await again('empty/2', '')).toEqual({ status: 'deduped', duplicate_of: 'empty/1' });
      expect(await again('new', 'same')).toEqual({ status: 'deduped', duplicate_of: 'own' });
      expect(await rows()).toEqual([
        ['empty/1', null, sha(''), 0],
        ['empty/2', 'empty/1', sha(''), 0],
        ['lone', null, sha('lone'), 4],
        ['new', 'own', sha('same'), 4],
        ['own', null, sha('same'), 4],
        ['same/2', null, sha('changed'), 7],
        ['same/3', null, sha('same'), 4],
      ]);
      expect(await s.seenVersions('org_a', 'conn_1', 'idx', ['same/1', 'same/3', 'empty/2', 'new'])).toEqual(new Map([['same/3', 'v'], ['empty/2', 'v'], ['new', 'v']]));
      const shas = await s.deleteIndex('org_a', 'idx');
      expect(shas?.sort()).toEqual([sha(''), sha('changed'), sha('lone'), sha('same')].sort());
      expect(await s.listItems('org_a', 'idx', { limit: 100 })).toEqual([]);
      expect(await s.blobReferenced(sha('same'))).toBe(false);
    });
  });

  it('commitFiles: a batch gives each file what commitFile would, in order; a lost lease or a failed place touches only that file', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      await s.createJob(job('imp_1'), files(5));
      const f = await s.claimFiles('A', 10, 60_000, NOW);
      const c = (i: number, content: string) => ({
        fileId: f[i]!.id,
        owner: 'A',
        orgId: 'org_a',
        connectorId: 'conn_1',
        index: 'idx',
        key: f[i]!.key,
        sha256: sha(content),
        size: content.length,
        contentType: 'text/plain',
        etag: null,
        version: 'v',
        dedupe: true,
        now: NOW,
      });
      await s.failFile(f[3]!.id, 'A', 'gone', null); // its lease is over before the batch commits
      const placed: string[] = [];
      const place = (x: { key: string }) => {
        if (x.key === f[4]!.key) throw new Error('EXDEV: cannot place');
        placed.push(x.key);
      };
      const out = await s.commitFiles([c(0, 'one'), c(1, 'one'), c(2, 'two'), c(3, 'three'), c(4, 'four')], place);
      expect(out.slice(0, 4)).toEqual([{ status: 'ready', duplicate_of: null }, { status: 'deduped', duplicate_of: 'f00000' }, { status: 'ready', duplicate_of: null }, null]);
      expect((out[4] as Error).message).toBe('EXDEV: cannot place');
      expect([...new Set(placed)]).toEqual(['f00000', 'f00001', 'f00002']); // never for a file whose lease was lost
      expect(await s.getItem('org_a', 'idx', 'f00004')).toBeNull();
      expect((await s.jobProgress('imp_1')).counts).toMatchObject({ pending: 1, ready: 2, deduped: 1, failed: 1 });
      // A later batch: the same key with the same content, new content under an existing key, a twin
      // under a new key that sorts first, and one of its own content twice.
      await s.createJob(job('imp_2'), [
        { key: 'f00000', size: 1, etag: null, version: null },
        { key: 'f00002', size: 1, etag: null, version: null },
        { key: 'a-first', size: 1, etag: null, version: null },
        { key: 'z1', size: 1, etag: null, version: null },
        { key: 'z0', size: 1, etag: null, version: null },
      ]);
      const g = await s.claimFiles('B', 10, 60_000, NOW);
      const d = (i: number, content: string) => ({ ...c(0, content), fileId: g[i]!.id, owner: 'B', key: g[i]!.key });
      const second = await s.commitFiles([d(0, 'one'), d(1, 'two, changed'), d(2, 'one'), d(3, 'zed'), d(4, 'zed')]);
      expect(second.slice(0, 3)).toEqual([{ status: 'deduped', duplicate_of: 'f00000' }, { status: 'ready', duplicate_of: null, replaced: sha('two') }, { status: 'deduped', duplicate_of: 'f00000' }]);
      expect(second.slice(3)).toEqual([{ status: 'ready', duplicate_of: null }, { status: 'deduped', duplicate_of: 'z1' }]);
      expect((await s.getItem('org_a', 'idx', 'f00002'))?.sha256).toBe(sha('two, changed'));
      await s.createJob(job('imp_3'), [
        { key: 'y1', size: 1, etag: null, version: null },
        { key: 'y0', size: 1, etag: null, version: null },
        { key: 'z0', size: 1, etag: null, version: null },
      ]);
      const h = await s.claimFiles('C', 10, 60_000, NOW);
      const e = (i: number, content: string) => ({ ...c(0, content), fileId: h[i]!.id, owner: 'C', key: h[i]!.key });
      const third = await s.commitFiles([e(0, 'why'), e(1, 'why'), e(2, 'zed')]);
      // Both stores commit a batch in order: the first file of a content becomes its original.
      expect(third).toEqual([{ status: 'ready', duplicate_of: null }, { status: 'deduped', duplicate_of: 'y1' }, { status: 'deduped', duplicate_of: 'z1' }]);
      expect(await s.seenVersions('org_a', 'conn_1', 'idx', ['y0', 'y1', 'z0'])).toEqual(new Map([['y0', 'v'], ['y1', 'v'], ['z0', 'v']]));
      // One key in a batch twice (two jobs): the last one's content and version stand.
      await s.createJob(job('imp_4'), [{ key: 'k', size: 1, etag: null, version: null }]);
      await s.createJob(job('imp_5'), [{ key: 'k', size: 1, etag: null, version: null }]);
      const k = await s.claimFiles('D', 10, 60_000, NOW);
      const fourth = await s.commitFiles(k.map((x, i) => ({ ...c(0, `k${i}`), fileId: x.id, owner: 'D', key: 'k', version: `v${i}` })));
      expect(fourth).toEqual([{ status: 'ready', duplicate_of: null }, { status: 'ready', duplicate_of: null, replaced: sha('k0') }]);
      expect((await s.getItem('org_a', 'idx', 'k'))?.sha256).toBe(sha('k1'));
      expect(await s.seenVersions('org_a', 'conn_1', 'idx', ['k'])).toEqual(new Map([['k', 'v1']]));
    });
  });

  it('commitFile: files with the same content committed at once by several instances make exactly one item "ready"', async () => {
    await withStores(b.fresh(), 3, async (...stores) => {
      await stores[0]!.createJob(job('imp_1'), files(60));
      const claimed = await Promise.all(stores.map((s, i) => s.claimFiles(`o${i}`, 20, 60_000, NOW)));
      const results = await Promise.all(claimed.flatMap((fs, i) => fs.map((f) => commit(stores[i]!, f, `o${i}`, 'twin'))));
      expect(results.filter((r) => r?.status === 'ready')).toHaveLength(1);
      expect(results.filter((r) => r?.status === 'deduped')).toHaveLength(59);
    });
  });

  it('cancel: pending files become canceled, the job is final, a late commit is refused', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      await s.createJob(job('imp_1'), files(3));
      const f = await s.claimFiles('A', 3, 60_000, NOW);
      expect(await commit(s, f[0]!, 'A', 'one')).toMatchObject({ status: 'ready' });
      expect(await s.cancelJob('org_b', 'imp_1', NOW)).toBeNull();
      expect(await s.cancelJob('org_a', 'imp_1', NOW)).toMatchObject({ status: 'canceled', finished_at: NOW });
      expect(await commit(s, f[1]!, 'A', 'two')).toBeNull();
      expect((await s.jobProgress('imp_1')).counts).toMatchObject({ ready: 1, canceled: 2, pending: 0 });
      expect((await s.heartbeat('A', [f[1]!.id], [], 60_000)).lostFiles).toEqual([f[1]!.id]);
      expect(await s.finalizeJobs(NOW)).toEqual([]);
      expect((await s.cancelJob('org_a', 'imp_1', 'later'))?.finished_at).toBe(NOW); // already final: unchanged
      expect(await s.claimFiles('A', 3, 60_000, NOW)).toEqual([]);
    });
  });

  it('finalizeJobs: each job is finalized exactly once across concurrent finalizers, with the right status', async () => {
    await withStores(b.fresh(), 3, async (...stores) => {
      const skipped = (n: number): ListedFile[] => files(n).map((f) => ({ ...f, status: 'skipped' as const }));
      for (let i = 0; i < 30; i++) await stores[0]!.createJob(job(`imp_${String(i).padStart(2, '0')}`), skipped(3));
      await stores[0]!.createJob(job('imp_err', { error: 'listing failed' }), []);
      await stores[0]!.createJob(job('imp_fail'), [{ key: 'a', size: 1, etag: null, version: null, status: 'failed', error: 'x' }]);
      await stores[0]!.createJob(job('imp_mixed'), [
        { key: 'a', size: 1, etag: null, version: null, status: 'failed', error: 'x' },
        { key: 'b', size: 1, etag: null, version: null, status: 'skipped' },
      ]);
      await stores[0]!.createJob(job('imp_pending'), files(1));
      await stores[0]!.createJob(job('imp_listing', { listing_complete: 0 }), []);
      const rounds = await Promise.all(stores.flatMap((s) => [s.finalizeJobs(NOW), s.finalizeJobs(NOW)]));
      const ids = rounds.flat().map((j) => j.id);
      expect(ids).toHaveLength(33);
      expect(new Set(ids).size).toBe(33);
      expect(await stores[1]!.finalizeJobs(NOW)).toEqual([]);
      const get = (id: string) => stores[0]!.getJob('org_a', id);
      expect(await get('imp_00')).toMatchObject({ status: 'completed', finished_at: NOW, started_at: NOW });
      expect(await get('imp_err')).toMatchObject({ status: 'failed', error: 'listing failed' });
      expect(await get('imp_fail')).toMatchObject({ status: 'failed', error: 'all 1 files failed' });
      expect(await get('imp_mixed')).toMatchObject({ status: 'completed_with_errors', error: null });
      expect(await get('imp_pending')).toMatchObject({ status: 'queued' });
      await stores[0]!.startJobs(NOW);
      expect(await get('imp_pending')).toMatchObject({ status: 'running' });
    });
  });

  it('gcBlobs: never removes a blob an item or an in-flight file references; an async unlink holds off markHashed', async () => {
    await withStores(b.fresh(), 2, async (s, t) => {
      await s.createJob(job('imp_1'), files(3));
      const f = await s.claimFiles('A', 3, 60_000, NOW);
      const removed: string[] = [];
      const unlink = (x: string) => void removed.push(x);
      expect(await s.markHashed(f[0]!.id, 'A', sha('a'))).toBe(true);
      expect(await t.gcBlobs([sha('a'), sha('zzz')], unlink)).toBe(1);
      expect(removed).toEqual([sha('zzz')]);
      await commit(s, f[0]!, 'A', 'a');
      expect(await t.gcBlobs([sha('a')], unlink)).toBe(0);
      expect(await s.blobReferenced(sha('a'))).toBe(true);
      expect(await s.deleteItem('org_a', 'idx', 'f00000')).toBe(sha('a'));
      expect(await s.blobReferenced(sha('a'))).toBe(false);
      expect(await t.gcBlobs([sha('a'), sha('a')], unlink)).toBe(1);
      expect(removed).toEqual([sha('zzz'), sha('a')]);
      expect(await s.getMeta('blob_gc_gate')).toBeNull();

      // Async unlink (an object store): markHashed of that hash waits until the removal has settled.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const events: string[] = [];
      const gc = t.gcBlobs([sha('b')], async (x) => {
        events.push('unlink started');
        await gate;
        events.push(`unlinked ${x.slice(0, 4)}`);
      });
      while (!events.length) await sleep(5);
      const mark = s.markHashed(f[1]!.id, 'A', sha('b')).then((r) => (events.push('marked'), r));
      await sleep(150);
      expect(events).toEqual(['unlink started']);
      release();
      expect(await gc).toBe(1);
      expect(await mark).toBe(true);
      expect(events).toEqual(['unlink started', `unlinked ${sha('b').slice(0, 4)}`, 'marked']);
      // Now the hash is in flight: GC keeps the blob.
      expect(await t.gcBlobs([sha('b')], async () => void events.push('wrong'))).toBe(0);
      expect(await s.getMeta('blob_gc_gate')).toBeNull();
      // A failing unlink reports its error and releases the lock.
      await expect(t.gcBlobs([sha('c')], async () => Promise.reject(new Error('delete failed')))).rejects.toThrow(/delete failed/);
      expect(await s.markHashed(f[2]!.id, 'A', sha('c'))).toBe(true);
    });
  });

  it('pruneJobs: deletes finished jobs older than the cutoff with their files and logs, nothing else', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      const skipped = files(2).map((f) => ({ ...f, status: 'skipped' as const }));
      await s.createJob(job('imp_old'), skipped);
      await s.finalizeJobs('2025-01-01T00:00:00.000Z');
      await s.createJob(job('imp_new'), skipped);
      await s.finalizeJobs('2026-06-01T00:00:00.000Z');
      await s.createJob(job('imp_active'), files(2));
      for (const id of ['imp_old', 'imp_new', 'imp_active']) await s.addLog({ org_id: 'org_a', job_id: id, connector_id: 'conn_1', level: 'info', message: `log of ${id}`, time: NOW });
      expect(await s.pruneJobs('2026-01-01T00:00:00.000Z')).toBe(1);
      expect(await s.getJob('org_a', 'imp_old')).toBeNull();
      expect(await s.listJobFiles('imp_old', { limit: 10 })).toEqual([]);
      expect((await s.listLogs('org_a', { limit: 10 })).map((l) => l.job_id)).toEqual(['imp_new', 'imp_active']);
      expect((await s.listJobs('org_a', { limit: 10 })).map((j) => j.id)).toEqual(['imp_new', 'imp_active']);
      expect(await s.pruneJobs('2030-01-01T00:00:00.000Z')).toBe(1);
      expect((await s.listJobs('org_a', { limit: 10 })).map((j) => j.id)).toEqual(['imp_active']);
    });
  });

  it('job lists are newest first across imports and exports (creation time, then id), and paging follows that order', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      const at = (min: number) => `2026-01-01T00:${String(min).padStart(2, '0')}:00.000Z`;
      // "imp_" sorts after "exp_": ordered by id alone, every import would come before every export.
      await s.createJob(job('imp_a', { created_at: at(1) }), []);
      await s.createJob(job('exp_b', { kind: 'export', created_at: at(2) }), []);
      await s.createJob(job('imp_c', { created_at: at(3) }), []);
      await s.createJob(job('exp_d', { kind: 'export', created_at: at(3) }), []); // same time as imp_c: the id breaks the tie
      await s.createJob(job('exp_e', { kind: 'export', created_at: at(4) }), []);
      const order = ['exp_e', 'imp_c', 'exp_d', 'exp_b', 'imp_a'];
      expect((await s.listJobs('org_a', { limit: 10 })).map((j) => j.id)).toEqual(order);
      const seen: string[] = [];
      let before: { createdAt: string; id: string } | undefined;
      for (;;) {
        const page = await s.listJobs('org_a', { limit: 2, ...(before ? { before } : {}) });
        if (!page.length) break;
        seen.push(...page.map((j) => j.id));
        const last = page[page.length - 1]!;
        before = { createdAt: last.created_at, id: last.id };
      }
      expect(seen).toEqual(order);
      expect((await s.listJobs('org_a', { limit: 10, kind: 'export', before: { createdAt: at(3), id: 'imp_c' } })).map((j) => j.id)).toEqual(['exp_d', 'exp_b']);
    });
  });

  it('logs and job lists: filters, paging, idempotency keys, progress of several jobs', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      await s.createJob(job('imp_1', { idempotency_key: 'k1', idempotency_hash: 'h' }), files(2));
      await s.createJob(job('imp_2', { connector_id: 'conn_2', index_name: 'other' }), [{ key: 'x', size: 5, etag: null, version: null, status: 'skipped' }]);
      await s.createJob(job('imp_3', { org_id: 'org_b' }), []);
      await expect(s.createJob(job('imp_4', { idempotency_key: 'k1' }), [])).rejects.toThrow(/UNIQUE/);
      expect(await s.getJob('org_a', 'imp_4')).toBeNull(); // the whole transaction rolled back
      expect((await s.findJobByIdempotencyKey('org_a', 'k1'))?.id).toBe('imp_1');
      expect(await s.findJobByIdempotencyKey('org_b', 'k1')).toBeNull();
      expect((await s.listJobs('org_a', { limit: 10 })).map((j) => j.id)).toEqual(['imp_2', 'imp_1']);
      expect((await s.listJobs('org_a', { limit: 10, before: { createdAt: NOW, id: 'imp_2' } })).map((j) => j.id)).toEqual(['imp_1']);
      expect((await s.listJobs('org_a', { limit: 10, connectorId: 'conn_2' })).map((j) => j.id)).toEqual(['imp_2']);
      expect((await s.listJobs('org_a', { limit: 10, index: 'idx', status: 'queued', kind: 'import' })).map((j) => j.id)).toEqual(['imp_1']);
      const p = await s.jobsProgress(['imp_1', 'imp_2', 'nope']);
      expect(p.get('imp_1')).toEqual({ counts: { pending: 2, ready: 0, deduped: 0, skipped: 0, failed: 0, canceled: 0 }, bytes_done: 0, bytes_total: 20 });
      expect(p.get('imp_2')?.counts.skipped).toBe(1);
      expect(p.get('nope')?.counts.pending).toBe(0);
      for (let i = 0; i < 5; i++) await s.addLog({ org_id: 'org_a', job_id: i % 2 ? 'imp_1' : 'imp_2', connector_id: i % 2 ? 'conn_1' : 'conn_2', level: 'info', key: i === 0 ? 'k' : null, message: `m${i}`.padEnd(3000, '.'), time: NOW });
      const logs = await s.listLogs('org_a', { limit: 2 });
      expect(logs.map((l) => l.message.slice(0, 2))).toEqual(['m0', 'm1']);
      expect(logs[0]).toMatchObject({ key: 'k', level: 'info', job_id: 'imp_2', time: NOW });
      expect(logs[0]!.message).toHaveLength(2000);
      expect((await s.listLogs('org_a', { limit: 10, afterId: logs[1]!.id, jobId: 'imp_1' })).map((l) => l.message.slice(0, 2))).toEqual(['m3']);
      expect((await s.listLogs('org_a', { limit: 10, connectorId: 'conn_2' })).map((l) => l.message.slice(0, 2))).toEqual(['m0', 'm2', 'm4']);
      expect(await s.listLogs('org_b', { limit: 10 })).toEqual([]);
    });
  });

  it('items and indexes: counts, paging by key, prefixes taken literally, delete item and index', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      const keys = ['a/1', 'a/2', 'a%/x', 'a_/y', 'b', 'B', 'é', 'z/ü'];
      await s.createJob(job('imp_1'), keys.map((key) => ({ key, size: 1, etag: null, version: null })));
      await s.createJob(job('imp_2', { org_id: 'org_b' }), [{ key: 'a/1', size: 1, etag: null, version: null }]);
      for (const f of await s.claimFiles('A', 20, 60_000, NOW)) await commit(s, f, 'A', `content of ${f.key}`);
      expect(await s.indexExists('org_a', 'idx')).toBe(true);
      expect(await s.indexExists('org_a', 'nope')).toBe(false);
      const idx = await s.listIndexes('org_a', { limit: 10 });
      expect(idx).toEqual([{ name: 'idx', items: 8, bytes: keys.reduce((n, k) => n + `content of ${k}`.length, 0), updated_at: expect.any(String) }]);
      expect((await s.listIndexes('org_b', { limit: 10 }))[0]?.items).toBe(1);
      expect(await s.listIndexes('org_a', { limit: 10, after: 'idx' })).toEqual([]);
      // Byte order, as SQLite compares: upper case before lower case, ASCII before accented letters.
      const all = (await s.listItems('org_a', 'idx', { limit: 100 })).map((i) => i.key);
      expect(all).toEqual(['B', 'a%/x', 'a/1', 'a/2', 'a_/y', 'b', 'z/ü', 'é']);
      const page = await s.listItems('org_a', 'idx', { limit: 3 });
      expect((await s.listItems('org_a', 'idx', { limit: 3, after: page[2]!.key })).map((i) => i.key)).toEqual(['a/2', 'a_/y', 'b']);
      expect((await s.listItems('org_a', 'idx', { prefix: 'a/', limit: 10 })).map((i) => i.key)).toEqual(['a/1', 'a/2']);
      expect((await s.listItems('org_a', 'idx', { prefix: 'a%', limit: 10 })).map((i) => i.key)).toEqual(['a%/x']);
      expect((await s.listItems('org_a', 'idx', { prefix: 'a_', limit: 10 })).map((i) => i.key)).toEqual(['a_/y']);
      expect((await s.listItems('org_a', 'idx', { prefix: 'z/ü', limit: 10 })).map((i) => i.key)).toEqual(['z/ü']);
      expect(await s.getItem('org_a', 'idx', 'a/1')).toMatchObject({ size: 14, sha256: sha('content of a/1'), connector_id: 'conn_1', content_type: 'text/plain' });
      expect(await s.getItem('org_b', 'idx', 'b')).toBeNull();
      expect(await s.indexDeletions('org_a', 'idx')).toEqual({ itemDeletedAt: null });
      expect(await s.indexDeletions('org_a', 'nope')).toBeNull();
      const before = new Date().toISOString();
      expect(await s.deleteItem('org_a', 'idx', 'b')).toBe(sha('content of b'));
      // delete_item dates the deletion (a quiet automation tick then runs: see the automations service).
      expect((await s.indexDeletions('org_a', 'idx'))!.itemDeletedAt! >= before).toBe(true);
      expect(await s.deleteItem('org_a', 'idx', 'b')).toBeNull();
      expect((await s.seenVersions('org_a', 'conn_1', 'idx', ['b', 'B'])).has('b')).toBe(false);
      const shas = await s.deleteIndex('org_a', 'idx');
      expect(shas?.sort()).toEqual(keys.filter((k) => k !== 'b').map((k) => sha(`content of ${k}`)).sort());
      expect(await s.deleteIndex('org_a', 'idx')).toBeNull();
      expect(await s.indexExists('org_a', 'idx')).toBe(false);
      expect(await s.getItem('org_b', 'idx', 'a/1')).not.toBeNull();
    });
  });

  it('organizations, API keys and meta', async () => {
    await withStores(b.fresh(), 2, async (s, t) => {
      const [o1, o2] = await Promise.all([s.ensureOrg('acme', 'org_1', NOW), t.ensureOrg('acme', 'org_2', NOW)]);
      expect(o1).toEqual(o2);
      expect((await s.ensureOrg('acme', 'org_3', NOW)).id).toBe(o1.id);
      await s.insertApiKey({ id: 'key_1', org_id: o1.id, name: 'ci', hash: 'h1', prefix: 'cp_1', read_only: 1, created_at: NOW, revoked_at: null });
      await s.insertApiKey({ id: 'key_2', org_id: o1.id, name: 'dev', hash: 'h2', prefix: 'cp_2', read_only: 0, created_at: '2026-02-01T00:00:00.000Z', revoked_at: null });
      await expect(s.insertApiKey({ id: 'key_3', org_id: o1.id, name: 'x', hash: 'h1', prefix: 'cp_3', read_only: 0, created_at: NOW, revoked_at: null })).rejects.toThrow(/UNIQUE/);
      expect(await t.findApiKey('h1')).toMatchObject({ id: 'key_1', org_name: 'acme', read_only: 1, revoked_at: null });
      expect(await t.findApiKey('nope')).toBeNull();
      expect((await s.listApiKeys()).map((k) => k.id)).toEqual(['key_1', 'key_2']);
      expect(await s.revokeApiKey('key_1', NOW)).toBe(true);
      expect(await s.revokeApiKey('key_1', NOW)).toBe(false);
      expect((await t.findApiKey('h1'))?.revoked_at).toBe(NOW);
      expect(await s.getMeta('canary')).toBeNull();
      const [m1, m2] = await Promise.all([s.setMetaOnce('canary', 'one'), t.setMetaOnce('canary', 'two')]);
      expect(m1).toBe(m2);
      expect(await s.getMeta('canary')).toBe(m1);
      await s.setMeta('canary', 'three');
      expect(await t.getMeta('canary')).toBe('three');
      await t.setMeta('fresh', 'x');
      expect(await s.getMeta('fresh')).toBe('x');
    });
  });

  it('automations: CRUD and compare-and-set, exactly one instance wins a run', async () => {
    await withStores(b.fresh(), 3, async (...stores) => {
      const s = stores[0]!;
      const row = { id: 'aut_1', org_id: 'org_a', name: 'nightly', kind: 'import', connector_id: 'conn_1', index_name: 'idx', params: '{}', schedule: '0 3 * * *', enabled: 1, next_run_at: 1000, last_run_at: null, last_job_id: null, last_error: null, runs: 0, skipped: 0, created_at: NOW, updated_at: NOW };
      await s.insertAutomation(row);
      await s.insertAutomation({ ...row, id: 'aut_2', name: 'off', enabled: 0, next_run_at: 10 });
      await expect(s.insertAutomation({ ...row, id: 'aut_3' })).rejects.toThrow(/UNIQUE/);
      expect(await s.nextAutomationRun()).toBe(1000);
      expect((await s.dueAutomations(999, 10)).map((a) => a.id)).toEqual([]);
      expect((await s.dueAutomations(1000, 10)).map((a) => a.id)).toEqual(['aut_1']);
      // A process that runs no export automation asks for the import ones only.
      expect((await s.dueAutomations(1000, 10, ['export'])).map((a) => a.id)).toEqual([]);
      expect((await s.dueAutomations(1000, 10, ['import'])).map((a) => a.id)).toEqual(['aut_1']);
      expect(await s.nextAutomationRun(['export'])).toBeNull();
      expect((await s.findAutomationByName('org_a', 'off'))?.id).toBe('aut_2');
      expect((await s.listAutomations('org_a', { limit: 10, connectorId: 'conn_1' })).map((a) => a.id)).toEqual(['aut_1', 'aut_2']);
      const wins = await Promise.all(stores.flatMap((x) => [x.casAutomation('aut_1', 1000, { next_run_at: 2000, runs: 1 }), x.casAutomation('aut_1', 1000, { next_run_at: 2000, runs: 1 })]));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect((await s.updateAutomation('org_a', 'aut_1', { enabled: 0 }))?.runs).toBe(1);
      expect(await s.updateAutomation('org_b', 'aut_1', { enabled: 1 })).toBeNull();
      expect(await s.nextAutomationRun()).toBeNull();
      expect(await s.deleteAutomation('org_a', 'aut_2')).toBe(true);
      expect(await s.deleteConnectorAutomations('org_a', 'conn_1')).toBe(1);
      expect(await s.getAutomation('org_a', 'aut_1')).toBeNull();
    });
  });

  it('deleteConnector: the connector, its automations and its seen versions go in one transaction; sweepOrphans finishes deletes an older version left half-done', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      const row = { id: 'aut_1', org_id: 'org_a', name: 'nightly', kind: 'import', connector_id: 'conn_1', index_name: 'idx', params: '{}', schedule: '0 3 * * *', enabled: 1, next_run_at: 1000, last_run_at: null, last_job_id: null, last_error: null, runs: 0, skipped: 0, created_at: NOW, updated_at: NOW };
      await s.insertConnector(connector('conn_1'));
      await s.insertConnector(connector('conn_2', { name: 'other' }));
      await s.insertAutomation(row);
      await s.insertAutomation({ ...row, id: 'aut_2', name: 'other', connector_id: 'conn_2' });
      await s.createJob(job('imp_1'), files(1));
      for (const f of await s.claimFiles('A', 5, 60_000, NOW)) await commit(s, f, 'A', 'content');
      expect((await s.seenVersions('org_a', 'conn_1', 'idx', ['f00000'])).size).toBe(1);
      expect(await s.deleteConnector('org_a', 'conn_1')).toBe(true);
      expect(await s.getConnector('org_a', 'conn_1')).toBeNull();
      expect(await s.listAutomations('org_a', { connectorId: 'conn_1', limit: 10 })).toEqual([]);
      expect((await s.seenVersions('org_a', 'conn_1', 'idx', ['f00000'])).size).toBe(0);
      expect((await s.listAutomations('org_a', { limit: 10 })).map((a) => a.id)).toEqual(['aut_2']);
      expect(await s.getItem('org_a', 'idx', 'f00000')).not.toBeNull(); // imported items stay
      // What a crash between the steps of an older delete left behind: automations of a connector that is gone.
      await s.insertAutomation({ ...row, id: 'aut_3', name: 'orphan', connector_id: 'conn_gone' });
      await s.insertAutomation({ ...row, id: 'aut_4', name: 'orphan', org_id: 'org_b', connector_id: 'conn_2' }); // conn_2 is org_a's
      expect(await s.sweepOrphans()).toBe(2);
      expect((await s.listAutomations('org_a', { limit: 10 })).map((a) => a.id)).toEqual(['aut_2']);
      expect(await s.listAutomations('org_b', { limit: 10 })).toEqual([]);
      expect(await s.sweepOrphans()).toBe(0);
    });
  });

  it('automations: idle runs (completed, every file skipped) are pruned with their files and logs; other finished runs compact their skipped rows into a count', async () => {
    await withStores(b.fresh(), 1, async (s) => {
      const skipped = (n: number) => files(n).map((f) => ({ ...f, status: 'skipped' as const }));
      const done = { status: 'completed', finished_at: NOW };
      await s.createJob(job('imp_idle', { ...done, automation_id: 'aut_1' }), skipped(3));
      await s.createJob(job('imp_empty', { ...done, automation_id: 'aut_1' }), []);
      await s.createJob(job('imp_busy', { ...done, automation_id: 'aut_1' }), [...skipped(2), { key: 'new', size: 1, etag: null, version: 'v', status: 'ready' }]);
      await s.createJob(job('imp_errors', { status: 'completed_with_errors', finished_at: NOW, automation_id: 'aut_1' }), [{ key: 'bad', size: 1, etag: null, version: 'v', status: 'failed', error: 'x' }]);
      await s.createJob(job('imp_running', { status: 'running', automation_id: 'aut_1' }), skipped(1));
      await s.createJob(job('imp_latest', { ...done, automation_id: 'aut_1' }), skipped(1));
      await s.createJob(job('imp_other', { ...done, automation_id: 'aut_2' }), skipped(1));
      await s.createJob(job('imp_manual', done), skipped(1));
      await s.addLog({ org_id: 'org_a', job_id: 'imp_idle', connector_id: 'conn_1', level: 'info', message: 'm', time: NOW });
      expect(await s.pruneIdleAutomationRuns('org_b', 'aut_1', 'imp_latest')).toBe(0);
      expect(await s.pruneIdleAutomationRuns('org_a', 'aut_1', 'imp_latest')).toBe(2);
      const left = (await s.listJobs('org_a', { limit: 100 })).map((j) => j.id).sort();
      expect(left).toEqual(['imp_busy', 'imp_errors', 'imp_latest', 'imp_manual', 'imp_other', 'imp_running']);
      expect(await s.listJobFiles('imp_idle', { limit: 10 })).toEqual([]);
      expect(await s.listLogs('org_a', { jobId: 'imp_idle', limit: 10 })).toEqual([]);
      // Finished runs that did something keep a count of their skipped files instead of the rows.
      expect(await s.compactAutomationRuns('org_a', 'aut_1', 'imp_latest')).toBe(1);
      expect((await s.listJobFiles('imp_busy', { limit: 10 })).map((f) => f.key)).toEqual(['new']);
      expect(JSON.parse((await s.getJob('org_a', 'imp_busy'))!.listing_state!)).toMatchObject({ compacted: 2 });
      expect(await s.listJobFiles('imp_running', { limit: 10 })).toHaveLength(1);
      expect(await s.listJobFiles('imp_latest', { limit: 10 })).toHaveLength(1);
      expect(await s.compactAutomationRuns('org_a', 'aut_1', 'imp_latest')).toBe(0);
    });
  });

  it('migrations: a version-6 database keeps its items, and a key deduped without an item is no longer seen (new_only brings it back)', async () => {
    const db = b.fresh();
    const old = MIGRATIONS.filter((m) => m.version <= 6);
    const rows = [
      `INSERT INTO items (org_id, index_name, key, connector_id, size, sha256, content_type, etag, imported_at) VALUES ('org_a', 'idx', 'kept', 'conn_1', 4, '${sha('same')}', 'text/plain', NULL, '${NOW}')`,
      `INSERT INTO import_seen (org_id, connector_id, index_name, key, version, updated_at) VALUES ('org_a', 'conn_1', 'idx', 'kept', 'v', '${NOW}')`,
      `INSERT INTO import_seen (org_id, connector_id, index_name, key, version, updated_at) VALUES ('org_a', 'conn_1', 'idx', 'deduped-before', 'v', '${NOW}')`,
    ];
    const versions = old.map((m) => `INSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, 'x', '${NOW}')`);
    const create = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)';
    if (b.name === 'sqlite') {
      const file = path.join(tmpRoot, `v6-${++seq}.db`);
      const raw = new Database(file);
      const qb = sqliteQueryBuilder();
      raw.exec(create);
      for (const m of old) for (const q of m.up(qb, 'sqlite')) raw.exec(q.compile().sql);
      for (const sqlText of [...versions, ...rows]) raw.exec(sqlText);
      raw.close();
      db.open = async () => new SqliteStore(file);
    } else {
      const schema = new URL(db.url!).searchParams.get('schema')!;
      await admin.query(`CREATE SCHEMA "${schema}"`);
      const c = new pg.Client({ connectionString: PG_BASE, options: `-c search_path=${schema}` });
      await c.connect();
      try {
        const qb = postgresQueryBuilder();
        await c.query(create);
        for (const m of old) for (const q of m.up(qb, 'postgres')) await c.query(q.compile().sql);
        for (const sqlText of [...versions, ...rows]) await c.query(sqlText);
      } finally {
        await c.end();
      }
    }
    await withStores(db, 1, async (s) => {
      expect(await s.getItem('org_a', 'idx', 'kept')).toMatchObject({ sha256: sha('same'), duplicate_of: null });
      expect(await s.seenVersions('org_a', 'conn_1', 'idx', ['kept', 'deduped-before'])).toEqual(new Map([['kept', 'v']]));
    });
  });

  it('migrations: three stores opening one fresh database at once apply each version exactly once', async () => {
    const db = b.fresh();
    const stores = b.name === 'postgres' ? await Promise.all([db.open(), db.open(), db.open()]) : [await db.open(), await db.open(), await db.open()];
    try {
      await stores[1]!.insertConnector(connector('conn_1'));
      expect(await stores[2]!.countConnectors()).toBe(1);
    } finally {
      for (const s of stores) await s.close();
    }
    if (b.name === 'postgres') {
      const schema = new URL(db.url!).searchParams.get('schema');
      const r = await admin.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
      expect(r.rows.map((x) => x.version)).toEqual(Array.from({ length: LATEST_VERSION }, (_, i) => i + 1));
      // bigint columns read back as numbers, ids are identities.
      const s = await db.open();
      try {
        await s.createJob(job('imp_1', { lease_expires: 2 ** 50 }), files(2));
        const j = await s.getJob('org_a', 'imp_1');
        expect(j?.lease_expires).toBe(2 ** 50);
        const f = await s.listJobFiles('imp_1', { limit: 5 });
        expect(typeof f[0]!.id).toBe('number');
        expect(f[1]!.id).toBeGreaterThan(f[0]!.id);
        expect(f[0]!.size).toBe(10);
      } finally {
        await s.close();
      }
    }
  });
});

describe('PostgreSQL store selection and master key', () => {
  it('openStore picks PostgreSQL for a postgres:// URL and SQLite otherwise', async () => {
    const db = backends[1]!.fresh();
    const p = await openStore({ dataDir: path.join(tmpRoot, 'unused'), databaseUrl: db.url });
    expect(p).toBeInstanceOf(PostgresStore);
    await p.close();
    expect(fs.existsSync(path.join(tmpRoot, 'unused'))).toBe(false);
    const dir = path.join(tmpRoot, 'sel');
    const q = await openStore({ dataDir: dir, databaseUrl: null });
    expect(q).toBeInstanceOf(SqliteStore);
    await q.close();
    expect(fs.existsSync(path.join(dir, 'cloudport.db'))).toBe(true);
    await expect(openStore({ dataDir: dir, databaseUrl: 'postgres://postgres@127.0.0.1:1/test' })).rejects.toMatchObject({ kind: 'config_invalid' });
  });

  it('a process with a different CLOUDPORT_MASTER_KEY refuses to start on a shared database', async () => {
    const db = backends[1]!.fresh();
    const config = (dataDir: string, key: string) => ({
      dataDir,
      databaseUrl: db.url,
      // The hosts share one blob store, as a deployment's processes must.
      blobStore: { kind: 'local' as const, dir: path.join(tmpRoot, 'shared-blobs') },
      readOnly: false,
      concurrency: 0,
      leaseMs: 30_000,
      pollMs: 250,
      idleTimeoutMs: 30_000,
      browseBudgetMs: 10_000,
      retentionDays: 30,
      env: { CLOUDPORT_MASTER_KEY: key },
      log: createLogger('silent'),
    });
    const key = randomBytes(32).toString('base64');
    const first = await App.open(config(path.join(tmpRoot, 'host1'), key));
    await first.close();
    // Another host (its own data dir) with the same key starts; one with another key does not.
    const same = await App.open(config(path.join(tmpRoot, 'host2'), key));
    await same.close();
    const err = await App.open(config(path.join(tmpRoot, 'host3'), randomBytes(32).toString('base64'))).catch((e) => e);
    expect(err).toMatchObject({ kind: 'config_invalid', field: 'CLOUDPORT_MASTER_KEY' });
    expect(String(err.message)).toMatch(/master key does not match.*PostgreSQL 127\.0\.0\.1:5432\/test/);
    expect(String(err.message)).not.toContain('postgres://');
    // Without any key, a fresh host cannot generate one for a database that holds a canary.
    const none = await App.open({ ...config(path.join(tmpRoot, 'host4'), ''), env: {} }).catch((e) => e);
    expect(none).toMatchObject({ kind: 'config_invalid', field: 'CLOUDPORT_MASTER_KEY' });
  });
});

// ---------------------------------------------------------------------------------------------
// The PostgreSQL group commit against file-by-file commits, its locks, and the SQLite search rankings.
// ---------------------------------------------------------------------------------------------

interface RawDb {
  open(): Promise<Store>;
  rows(q: string): Promise<Record<string, unknown>[]>;
  url?: string;
  file?: string;
}

function rawFresh(name: 'sqlite' | 'postgres'): RawDb {
  if (name === 'sqlite') {
    const dir = path.join(tmpRoot, `rdb${++seq}`);
    fs.mkdirSync(dir);
    const file = path.join(dir, 'cloudport.db');
    return {
      file,
      open: async () => new SqliteStore(file),
      rows: async (q) => {
        const d = new Database(file, { readonly: true });
        try {
          return d.prepare(q).all() as Record<string, unknown>[];
        } finally {
          d.close();
        }
      },
    };
  }
  const schema = `${RUN}_${++seq}`;
  schemas.push(schema);
  const url = `${PG_BASE}?schema=${schema}`;
  return {
    url,
    open: () => PostgresStore.open(url),
    rows: async (q) => {
      const c = new pg.Client({ connectionString: PG_BASE, options: `-c search_path=${schema}` });
      await c.connect();
      try {
        return (await c.query(q)).rows;
      } finally {
        await c.end();
      }
    },
  };
}

type TextKind = 'none' | 'chunks' | 'nochunks';
interface Spec {
  key: string;
  content: string;
  dedupe: boolean;
  text: TextKind;
  lost?: boolean;
  placeFails?: boolean;
}

function payload(kind: TextKind, content: string) {
  if (kind === 'chunks') return toPayload({ status: 'extracted', detail: null, text: `word ${content}`, format: 'text', derived: false });
  if (kind === 'nochunks') return { status: 'unsupported' as const, detail: 'binary content (application/octet-stream)', format: 'binary', derived: false, bytes: 0, chunks: [] };
  return undefined;
}

/** Sets up `before` (committed one by one), then commits `batch` either as one commitFiles or file by file; a snapshot of every table a commit writes. */
async function scenario(name: 'sqlite' | 'postgres', before: Spec[], batch: Spec[], mode: 'batch' | 'single') {
  const db = rawFresh(name);
  const s = await db.open();
  try {
    const cf = (f: { id: number; key: string }, owner: string, x: Spec) => ({
      fileId: f.id,
      owner,
      orgId: 'org_a',
      connectorId: 'conn_1',
      index: 'idx',
      key: x.key,
      sha256: sha(x.content),
      size: x.content.length,
      contentType: 'text/plain',
      etag: null,
      version: `v-${x.content}`,
      dedupe: x.dedupe,
      now: NOW,
      ...(payload(x.text, x.content) ? { text: payload(x.text, x.content)! } : {}),
    });
    for (let i = 0; i < before.length; i++) {
      await s.createJob(job(`pre_${i}`), [{ key: before[i]!.key, size: 1, etag: null, version: null }]);
      const [f] = await s.claimFiles('A', 1, 60_000, NOW);
      await s.commitFiles([cf(f!, 'A', before[i]!)]);
    }
    for (let i = 0; i < batch.length; i++) await s.createJob(job(`b_${String(i).padStart(3, '0')}`), [{ key: batch[i]!.key, size: 1, etag: null, version: null }]);
    const claimed = await s.claimFiles('B', 1000, 60_000, NOW);
    const byJob = new Map(claimed.map((f) => [f.job_id, f]));
    const fs2 = batch.map((_, i) => byJob.get(`b_${String(i).padStart(3, '0')}`)!);
    for (let i = 0; i < batch.length; i++) if (batch[i]!.lost) await s.failFile(fs2[i]!.id, 'B', 'gone', null);
    const cs = batch.map((x, i) => cf(fs2[i]!, 'B', x));
    const place = (c: { fileId: number }) => {
      const i = fs2.findIndex((f) => f.id === c.fileId);
      if (batch[i]!.placeFails) throw new Error(`cannot place ${batch[i]!.key}`);
    };
    const results: unknown[] = [];
    if (mode === 'batch') results.push(...(await s.commitFiles(cs, place)));
    else for (const c of cs) results.push(...(await s.commitFiles([c], place)));
    const norm = (r: unknown) => (r instanceof Error ? `Error: ${r.message}` : r);
    return {
      results: results.map(norm),
      items: await db.rows(`SELECT key, sha256, duplicate_of, size, etag, content_type FROM items ORDER BY key`),
      files: await db.rows(`SELECT job_id, key, status, duplicate_of, sha256, size, version, lease_owner, error FROM job_files ORDER BY job_id`),
      texts: await db.rows(`SELECT t.sha256, t.status, t.format, (SELECT COUNT(*) FROM text_chunks c WHERE c.sha256 = t.sha256) AS chunks FROM texts t ORDER BY t.sha256`),
      seen: await db.rows(`SELECT key, version FROM import_seen ORDER BY key`),
    };
  } finally {
    await s.close();
  }
}

function jsonish(x: unknown) {
  return JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? Number(v) : typeof v === 'string' && /^\d+$/.test(v) && v.length < 10 ? Number(v) : v)));
}

describe.each(backends)('commit batches equal file-by-file commits: $name', (b) => {
  it('commitFiles batch = file by file: one content, a file without chunks first and one with chunks second (same bytes as .bin and .txt)', async () => {
    const batch: Spec[] = [
      { key: 'a.bin', content: 'hello', dedupe: true, text: 'nochunks' },
      { key: 'b.txt', content: 'hello', dedupe: true, text: 'chunks' },
    ];
    const single = jsonish(await scenario(b.name, [], batch, 'single'));
    const grouped = jsonish(await scenario(b.name, [], batch, 'batch'));
    expect(grouped.texts).toEqual(single.texts);
    expect(grouped).toEqual(single);
  });

  it('commitFiles batch = file by file: randomized (existing items, twins, same key, lost leases, failed places, non-ASCII keys, texts)', async () => {
    const keys = ['a', 'B', 'b', 'z', 'é', 'ä', 'Z', 'a/1', 'a-1', 'ß', '日本', 'k1', 'k2', 'k3', 'k4', 'k5', 'K', '~', ' ', 'a0'];
    const contents = ['x', 'y', 'w'];
    let rnd = Number(process.env.SEED ?? 12345);
    const r = (n: number) => ((rnd = (rnd * 1103515245 + 12345) & 0x7fffffff), rnd % n);
    const pick = <T,>(a: T[]) => a[r(a.length)]!;
    // One text kind per content (what extraction gives for the same bytes), so the runs differ only in what the batch decides.
    const textOf: Record<string, TextKind> = { x: 'chunks', y: 'nochunks', w: 'none' };
    const diffs: string[] = [];
    for (let round = 0; round < Number(process.env.ROUNDS ?? 25); round++) {
      const before: Spec[] = Array.from({ length: r(5) }, () => {
        const content = pick(contents);
        return { key: pick(keys), content, dedupe: r(4) !== 0, text: textOf[content]! };
      });
      const batch: Spec[] = Array.from({ length: 2 + r(6) }, () => {
        const content = pick(contents);
        return { key: pick(keys), content, dedupe: r(4) !== 0, text: textOf[content]!, lost: r(10) === 0, placeFails: r(10) === 0 };
      });
      const single = jsonish(await scenario(b.name, before, batch, 'single'));
      const grouped = jsonish(await scenario(b.name, before, batch, 'batch'));
      try {
        expect(grouped).toEqual(single);
      } catch (e) {
        diffs.push(`round ${round}: before ${JSON.stringify(before)} batch ${JSON.stringify(batch)}\n${(e as Error).message.slice(0, 1500)}`);
      }
    }
    expect(diffs).toEqual([]);
  }, 120_000);
});

describe('PostgreSQL batch commits: concurrency', () => {
  it('commitFiles: two indexes in one call whose files share contents in opposite orders never deadlock (texts rows)', async () => {
    const db = rawFresh('postgres');
    const s = await db.open();
    const deadlocks = async () => Number((await admin.query(`SELECT deadlocks FROM pg_stat_database WHERE datname = 'test'`)).rows[0].deadlocks);
    try {
      const before = await deadlocks();
      const t0 = Date.now();
      for (let round = 0; round < 20; round++) {
        await s.createJob(job(`x_${round}`, { index_name: 'idx1' }), [{ key: 'k1', size: 1, etag: null, version: null }, { key: 'k2', size: 1, etag: null, version: null }]);
        await s.createJob(job(`y_${round}`, { index_name: 'idx2' }), [{ key: 'k1', size: 1, etag: null, version: null }, { key: 'k2', size: 1, etag: null, version: null }]);
        const f = await s.claimFiles('A', 10, 60_000, NOW);
        const get = (jobId: string, key: string) => f.find((x) => x.job_id === jobId && x.key === key)!;
        const c = (x: { id: number; key: string; index_name: string }, content: string) => ({
          fileId: x.id, owner: 'A', orgId: 'org_a', connectorId: 'conn_1', index: x.index_name, key: x.key, sha256: sha(content), size: content.length,
          contentType: 'text/plain', etag: null, version: 'v', dedupe: true, now: NOW,
          text: toPayload({ status: 'extracted', detail: null, text: `${content} `.repeat(2000), format: 'text', derived: false }),
        });
        const p = `r${round}`;
        const out = await s.commitFiles([c(get(`x_${round}`, 'k1'), `${p}a`), c(get(`x_${round}`, 'k2'), `${p}b`), c(get(`y_${round}`, 'k1'), `${p}b`), c(get(`y_${round}`, 'k2'), `${p}a`)]);
        expect(out.every((r) => r && !(r instanceof Error))).toBe(true);
      }
      const took = Date.now() - t0;
      expect({ deadlocks: (await deadlocks()) - before, slow: took > 5000 ? took : 'ok' }).toEqual({ deadlocks: 0, slow: 'ok' });
    } finally {
      await s.close();
    }
  }, 120_000);
});

describe('PostgreSQL batch commits: local blobs', () => {
  it('a batch that rolls back after placing its blobs: GC between the batch and the file-by-file retry must not cost a good file its blob', async () => {
    const { LocalBlobStore } = await import('../../src/store/blobs.js');
    const db = rawFresh('postgres');
    const s1 = await db.open();
    const s2 = await db.open();
    const root = fs.mkdtempSync(path.join(tmpRoot, 'blobs-'));
    const blobs = new LocalBlobStore(root);
    try {
      // A stand-in for one file's trouble in the batch statement (any error but class 42), slow enough that GC queues meanwhile.
      await db.rows(`CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.etag = 'boom' THEN PERFORM pg_sleep(0.3); RAISE EXCEPTION 'bad file' USING ERRCODE = '22000'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER boom BEFORE INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION boom();`);
      await s1.createJob(job('imp_1'), [{ key: 'good', size: 1, etag: null, version: null }, { key: 'bad', size: 1, etag: null, version: null }]);
      const f = await s1.claimFiles('A', 10, 60_000, NOW);
      const temps = new Map<number, string>();
      const c = (x: { id: number; key: string }, content: string, etag: string | null) => {
        const t = blobs.tempPath();
        fs.writeFileSync(t, content);
        temps.set(x.id, t);
        return { fileId: x.id, owner: 'A', orgId: 'org_a', connectorId: 'conn_1', index: 'idx', key: x.key, sha256: sha(content), size: content.length, contentType: 'text/plain', etag, version: 'v', dedupe: true, now: NOW };
      };
      const good = f.find((x) => x.key === 'good')!;
      const bad = f.find((x) => x.key === 'bad')!;
      let gc: Promise<number> | null = null;
      const out = await s1.commitFiles([c(good, 'good content', null), c(bad, 'bad content', 'boom')], (x) => {
        blobs.commitSync!(temps.get(x.fileId)!, x.sha256);
        // Another worker's GC for this content (say its own copy was placed and then its job was canceled).
        if (x.key === 'good' && !gc) gc = s2.gcBlobs([sha('good content')], (h) => blobs.removeSync(h));
      });
      await gc;
      expect(out[0]).toEqual({ status: 'ready', duplicate_of: null });
      expect(out[1]).toBeInstanceOf(Error);
      expect(await s1.getItem('org_a', 'idx', 'good')).not.toBeNull();
      expect((await blobs.read(sha('good content'), 0, 100)).toString()).toBe('good content');
    } finally {
      await s1.close();
      await s2.close();
    }
  }, 30_000);
});

describe('SQLite search rankings kept between searches', () => {
  it('a search sees writes of another connection across WAL checkpoints (TRUNCATE), deletes, and other filters', async () => {
    const db = rawFresh('sqlite');
    const s1 = await db.open();
    const s2 = await db.open();
    try {
      const add = async (s: Store, org: string, index: string, key: string, content: string) => {
        await s.createJob(job(`imp_${org}_${index}_${key}`, { org_id: org, index_name: index }), [{ key, size: content.length, etag: null, version: 'v' }]);
        const [f] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
        await commit(s, { id: f!.id, key, org_id: org, index_name: index }, 'A', content, { text: true });
      };
      const q = parseQuery('alpha');
      const find = async (over: Partial<{ indexes: string[]; prefix: string; offset: number; limit: number }> = {}, org = 'org_a') =>
        (await s1.searchTexts(org, { fts5: toFts5(q), tsquery: toTsquery(q), offset: 0, limit: 10, ...over })).hits.map((h) => `${h.index_name}/${h.key}`).sort();
      await add(s1, 'org_a', 'i1', 'p/one', 'alpha one');
      expect(await find()).toEqual(['i1/p/one']);
      const raw = new Database(db.file!);
      for (let i = 0; i < 3; i++) {
        await add(s2, 'org_a', 'i2', `q/two${i}`, `alpha two ${i}`);
        raw.pragma('wal_checkpoint(TRUNCATE)');
        expect(await find()).toHaveLength(2 + i);
      }
      raw.close();
      expect(await find({ indexes: ['i1'] })).toEqual(['i1/p/one']);
      expect(await find({ prefix: 'q/' })).toEqual(['i2/q/two0', 'i2/q/two1', 'i2/q/two2']);
      expect(await find({ offset: 1, limit: 1 })).toHaveLength(1);
      expect(await find({}, 'org_b')).toEqual([]);
      await add(s2, 'org_b', 'i1', 'b', 'alpha b');
      expect(await find({}, 'org_b')).toEqual(['i1/b']);
      await s2.deleteIndex('org_a', 'i2');
      expect(await find()).toEqual(['i1/p/one']);
    } finally {
      await s1.close();
      await s2.close();
    }
  });
});

describe('PostgreSQL batch commits: locks', () => {
  it('a batch commit waits for the blob lock (GC) and for its index lock, and MARK_HASHED_MANY waits for GC', async () => {
    const db = rawFresh('postgres');
    const s = await db.open();
    const other = new pg.Client({ connectionString: PG_BASE });
    await other.connect();
    try {
      await s.createJob(job('imp_1'), files(6));
      const f = await s.claimFiles('A', 10, 60_000, NOW);
      const c = (i: number, content: string) => ({ fileId: f[i]!.id, owner: 'A', orgId: 'org_a', connectorId: 'conn_1', index: 'idx', key: f[i]!.key, sha256: sha(content), size: 1, contentType: 'text/plain', etag: null, version: 'v', dedupe: true, now: NOW });
      const timed = async (lockSql: string, unlockSql: string, run: () => Promise<unknown>) => {
        await other.query(lockSql);
        let done = false;
        const p = run().then(() => (done = true));
        await sleep(300);
        const waited = !done;
        await other.query(unlockSql);
        await p;
        return waited;
      };
      const NS = 0x636c7000;
      expect(await timed(`SELECT pg_advisory_lock(${NS}, 2)`, `SELECT pg_advisory_unlock(${NS}, 2)`, () => s.commitFiles([c(0, 'a'), c(1, 'b')]))).toBe(true);
      expect(await timed(`SELECT pg_advisory_lock(${NS + 1}, hashtext('org_a' || chr(1) || 'idx'))`, `SELECT pg_advisory_unlock(${NS + 1}, hashtext('org_a' || chr(1) || 'idx'))`, () => s.commitFiles([c(2, 'c'), c(3, 'd')]))).toBe(true);
      expect(await timed(`SELECT pg_advisory_lock(${NS}, 2)`, `SELECT pg_advisory_unlock(${NS}, 2)`, () => s.markHashedMany([{ fileId: f[4]!.id, sha256: sha('e') }, { fileId: f[5]!.id, sha256: sha('f') }], 'A'))).toBe(true);
    } finally {
      await other.end();
      await s.close();
    }
  });
});
