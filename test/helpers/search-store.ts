/**
 * Helpers of the search store tests (as in test/store/store.test.ts, whose helpers are local):
 * fresh SQLite / PostgreSQL stores, one-file imports, and a word-by-word reference of the query
 * language's item semantics (every clause in some chunk, no excluded term in any chunk).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite.js';
import { searchTuning } from '../../src/store/kysely/texts.js';
import { PostgresStore } from '../../src/store/postgres.js';
import type { NewJob, Store, TextSearch } from '../../src/store/types.js';
import { toPayload } from '../../src/core/search/extractor.js';
import { chunkText } from '../../src/core/search/chunks.js';
import { parseQuery, searchExpressions, type Term } from '../../src/core/search/query.js';
import { foldWords } from '../../src/shared/search-words.js';

export const PG_BASE = 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `cpr_${process.pid}_${randomBytes(3).toString('hex')}`;
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-search-'));
const schemas: string[] = [];
let seq = 0;

export interface Backend {
  name: 'sqlite' | 'postgres';
  open(): () => Promise<Store>;
}

/** Raw SQL on the database a backend's last open() made (EXPLAIN, counts). */
export const lastDb: { sqlite?: string; schema?: string } = {};
export async function raw(b: Backend, text: string): Promise<Record<string, unknown>[]> {
  if (b.name === 'sqlite') {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(lastDb.sqlite!, { readonly: true });
    try {
      return db.prepare(text).all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: PG_BASE });
  await c.connect();
  try {
    await c.query(`SET search_path TO "${lastDb.schema}"`);
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

export const backends: Backend[] = [
  {
    name: 'sqlite',
    open() {
      const dir = path.join(tmpRoot, `db${++seq}`);
      // recursive: a file that ran cleanup() before, in the same worker, removed the root.
      fs.mkdirSync(dir, { recursive: true });
      lastDb.sqlite = path.join(dir, 'cloudport.db');
      return async () => new SqliteStore(path.join(dir, 'cloudport.db'));
    },
  },
  {
    name: 'postgres',
    open() {
      const schema = `${RUN}_${++seq}`;
      schemas.push(schema);
      lastDb.schema = schema;
      return () => PostgresStore.open(`${PG_BASE}?schema=${schema}`);
    },
  },
];

export async function cleanup(): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
  try {
    for (const s of schemas.splice(0)) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  } finally {
    await admin.end();
  }
  fs.rmSync(tmpRoot, { recursive: true, force: true });
}

/**
 * In the describe block that calls it: searches estimate their totals where they would count them
 * (searchTuning.exactCountChunks at 0), to reach the estimators; the limit is restored after.
 */
export function estimatingTotals(): void {
  const limit = searchTuning.exactCountChunks;
  beforeAll(() => {
    searchTuning.exactCountChunks = 0;
  });
  afterAll(() => {
    searchTuning.exactCountChunks = limit;
  });
}

export async function withStore<T>(b: Backend, fn: (s: Store, open: () => Promise<Store>) => Promise<T>): Promise<T> {
  const open = b.open();
  const s = await open();
  try {
    return await fn(s, open);
  } finally {
    await s.close();
  }
}

const NOW = '2026-01-01T00:00:00.000Z';
export const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function job(id: string, over: Partial<NewJob> = {}): NewJob {
  return { id, org_id: 'org_a', kind: 'import', connector_id: 'conn_1', index_name: 'idx', params: '{}', status: 'queued', listing_state: null, listing_complete: 1, lease_owner: null, lease_expires: 0, error: null, created_at: NOW, ...over };
}

let jobs = 0;
/** Imports one file with its text (dedupe on: a second key of the same content in an index is its duplicate). */
export async function add(s: Store, key: string, content: string, over: { org?: string; index?: string } = {}) {
  const org = over.org ?? 'org_a';
  const index = over.index ?? 'idx';
  await s.createJob(job(`imp_${++jobs}_${randomBytes(3).toString('hex')}`, { org_id: org, index_name: index }), [{ key, size: content.length, etag: null, version: 'v' }]);
  const [f] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
  return s.commitFile({
    fileId: f!.id,
    owner: 'A',
    orgId: org,
    connectorId: 'conn_1',
    index,
    key,
    sha256: sha(content),
    size: content.length,
    contentType: 'text/plain',
    etag: null,
    version: 'v',
    dedupe: true,
    now: new Date().toISOString(),
    text: toPayload({ status: 'extracted', detail: null, text: content, format: 'text', derived: false }),
  });
}

export function search(query: string, over: Partial<Pick<TextSearch, 'offset' | 'limit' | 'prefix' | 'indexes'>> = {}): TextSearch {
  return { ...searchExpressions(parseQuery(query)), offset: 0, limit: 10, ...over };
}

/** Every page of a search, following the total as SearchService does (next while offset + hits < total). */
export async function walk(s: Store, org: string, query: string, limit: number, over: Partial<Pick<TextSearch, 'prefix' | 'indexes'>> = {}) {
  const keys: string[] = [];
  const bodies: string[] = [];
  const totals: number[] = [];
  let offset = 0;
  for (let i = 0; i < 1000; i++) {
    const r = await s.searchTexts(org, search(query, { ...over, offset, limit }));
    keys.push(...r.hits.map((h) => `${h.index_name}/${h.key}`));
    bodies.push(...r.hits.map((h) => h.body));
    totals.push(r.total);
    if (!(offset + r.hits.length < r.total) || !r.hits.length) break;
    offset += r.hits.length;
  }
  return { keys, bodies, totals };
}

/** The reference: items as the README describes them. */
export interface Doc {
  org: string;
  index: string;
  key: string;
  content: string;
  /** The key of its index holding the same content first (the store's duplicate_of). */
  dupOf: string | null;
}

function termIn(words: string[], t: Term): boolean {
  for (let i = 0; i + t.words.length <= words.length; i++) {
    let ok = true;
    for (let j = 0; j < t.words.length && ok; j++) {
      const w = words[i + j]!;
      const last = j === t.words.length - 1;
      ok = last && t.prefix ? w.startsWith(t.words[j]!) : w === t.words[j];
    }
    if (ok) return true;
  }
  return false;
}

/** A chunk's body holds one of the query's positive terms. */
export function holdsAWord(body: string, query: string): boolean {
  const words = foldWords(body);
  return parseQuery(query).all.flat().some((t) => termIn(words, t));
}

export function matches(content: string, query: string): boolean {
  const q = parseQuery(query);
  const chunks = chunkText(content).map((c) => foldWords(c.body));
  const anyChunk = (t: Term) => chunks.some((w) => termIn(w, t));
  return q.all.every((clause) => clause.some(anyChunk)) && !q.none.some(anyChunk);
}

export function expected(docs: Doc[], org: string, query: string, over: { prefix?: string; indexes?: string[] } = {}): string[] {
  return docs
    .filter((d) => d.org === org)
    .filter((d) => !over.indexes || over.indexes.includes(d.index))
    .filter((d) => (over.prefix ? d.key.startsWith(over.prefix) && (d.dupOf === null || !d.dupOf.startsWith(over.prefix)) : d.dupOf === null))
    .filter((d) => matches(d.content, query))
    .map((d) => `${d.index}/${d.key}`)
    .sort();
}

export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: T[]) => xs[Math.floor(next() * xs.length)]! };
}

/** Imports many files at once (one job, one claim, commitFiles in batches of 500). */
export async function addMany(s: Store, files: { key: string; content: string }[], over: { org?: string; index?: string } = {}) {
  const org = over.org ?? 'org_a';
  const index = over.index ?? 'idx';
  for (let i = 0; i < files.length; i += 500) {
    const part = files.slice(i, i + 500);
    await s.createJob(job(`bulk_${++jobs}_${randomBytes(3).toString('hex')}`, { org_id: org, index_name: index }), part.map((f) => ({ key: f.key, size: f.content.length, etag: null, version: 'v' })));
    const claimed = await s.claimFiles('A', part.length, 60_000, new Date().toISOString());
    const byKey = new Map(part.map((f) => [f.key, f.content]));
    const out = await s.commitFiles(
      claimed.map((f) => {
        const content = byKey.get(f.key)!;
        return {
          fileId: f.id, owner: 'A', orgId: org, connectorId: 'conn_1', index, key: f.key, sha256: sha(content), size: content.length,
          contentType: 'text/plain', etag: null, version: 'v', dedupe: true, now: new Date().toISOString(),
          text: toPayload({ status: 'extracted', detail: null, text: content, format: 'text', derived: false }),
        };
      }),
    );
    for (const o of out) if (o instanceof Error || o === null) throw o ?? new Error('lost lease');
  }
}
