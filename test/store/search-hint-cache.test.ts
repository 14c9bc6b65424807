/**
 * Store.indexesWithoutText (search's hint) keeps its answer while textsVersion() is unchanged. It must
 * never answer stale after a write: by this store, by another store instance (another process), by a raw
 * connection whose transaction was open while the answer was computed, on SQLite and PostgreSQL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite.js';
import { PostgresStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/types.js';

const PG_BASE = 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `cpr_${process.pid}_${randomBytes(3).toString('hex')}`;
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-search-'));
const schemas: string[] = [];
let admin: pg.Client;
let seq = 0;

/** Raw SQL on its own connection, outside any store: another process's writes, with transactions held open. */
interface Raw {
  q(text: string, params?: unknown[]): Promise<void>;
  close(): Promise<void>;
}

interface Db {
  open(): Promise<Store>;
  raw(): Promise<Raw>;
}

const backends: { name: string; fresh(): Db }[] = [
  {
    name: 'sqlite',
    fresh() {
      const dir = path.join(tmpRoot, `db${++seq}`);
      fs.mkdirSync(dir);
      const file = path.join(dir, 'cloudport.db');
      return {
        open: async () => new SqliteStore(file),
        raw: async () => {
          const db = new Database(file);
          db.pragma('busy_timeout = 10000');
          return {
            q: async (text, params = []) => {
              const s = db.prepare(text.replace(/\$\d+/g, '?'));
              if (s.reader) s.all(...params);
              else s.run(...params);
            },
            close: async () => db.close(),
          };
        },
      };
    },
  },
  {
    name: 'postgres',
    fresh() {
      const schema = `${RUN}_${++seq}`;
      schemas.push(schema);
      return {
        open: () => PostgresStore.open(`${PG_BASE}?schema=${schema}`),
        raw: async () => {
          const c = new pg.Client({ connectionString: PG_BASE });
          await c.connect();
          await c.query(`SET search_path TO "${schema}"`);
          return { q: async (text, params = []) => void (await c.query(text, params)), close: () => c.end() };
        },
      };
    },
  },
];

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
});

afterAll(async () => {
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await admin.end();
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

const ITEM = `INSERT INTO items (org_id, index_name, key, connector_id, size, sha256, content_type, etag, imported_at) VALUES ($1, $2, $3, 'c', 1, $4, 'text/plain', NULL, 'now')`;
const TEXT = `INSERT INTO texts (sha256, status, detail, format, derived, bytes, extracted_at) VALUES ($1, 'extracted', NULL, 'text', 0, 1, 'now')`;

describe.each(backends)('indexesWithoutText is never stale ($name)', (b) => {
  it('after writes by another store instance and by raw connections, committed or held open', async () => {
    const db = b.fresh();
    const s1 = await db.open();
    const s2 = await db.open();
    const raw = await db.raw();
    try {
      const ask = (org = 'org_a', idx = ['idx', 'other']) => s1.indexesWithoutText(org, idx);
      expect(await ask()).toEqual([]);
      // Another connection adds an item without text.
      await raw.q(ITEM, ['org_a', 'idx', 'k1', 'sha1']);
      expect(await ask()).toEqual(['idx']);
      // Its text arrives in a transaction held open while the answer is computed, then committed.
      await raw.q('BEGIN');
      await raw.q(TEXT, ['sha1']);
      expect(await ask()).toEqual(['idx']);
      await raw.q('COMMIT');
      expect(await ask()).toEqual([]);
      // Same, rolled back: the answer stays.
      await raw.q('BEGIN');
      await raw.q(ITEM, ['org_a', 'other', 'k2', 'sha2']);
      expect(await ask()).toEqual([]);
      await raw.q('ROLLBACK');
      expect(await ask()).toEqual([]);
      // Another store instance writes.
      await s2.createJob(
        { id: 'j1', org_id: 'org_a', kind: 'import', connector_id: 'c', index_name: 'other', params: '{}', status: 'queued', listing_state: null, listing_complete: 1, lease_owner: null, lease_expires: 0, error: null, created_at: 'now' },
        [{ key: 'k3', size: 1, etag: null, version: 'v' }],
      );
      const [f] = await s2.claimFiles('A', 1, 60_000, new Date().toISOString());
      await s2.commitFile({ fileId: f!.id, owner: 'A', orgId: 'org_a', connectorId: 'c', index: 'other', key: 'k3', sha256: 'sha3', size: 1, contentType: 'text/plain', etag: null, version: 'v', dedupe: false, now: new Date().toISOString() });
      expect(await ask()).toEqual(['other']);
      // Organizations and index lists are kept apart.
      expect(await ask('org_b')).toEqual([]);
      expect(await ask('org_a', ['idx'])).toEqual([]);
      expect(await ask('org_a', ['other'])).toEqual(['other']);
      expect(await ask('org_a', ['other', 'idx'])).toEqual(['other']);
      await raw.q(ITEM, ['org_b', 'other', 'k4', 'sha4']);
      expect(await ask('org_b', ['idx', 'other'])).toEqual(['other']);
      // Deleted by another store instance, then by this one.
      await s2.deleteItem('org_a', 'other', 'k3');
      expect(await ask()).toEqual([]);
      await raw.q(ITEM, ['org_a', 'idx', 'k5', 'sha5']);
      expect(await ask()).toEqual(['idx']);
      await s1.deleteItem('org_a', 'idx', 'k5');
      expect(await ask()).toEqual([]);
      // Raw delete of a text row (status reset by another process).
      await raw.q('DELETE FROM texts WHERE sha256 = $1', ['sha1']);
      expect(await ask()).toEqual(['idx']);
      // This store saves the text.
      await s1.saveText('sha1', { status: 'extracted', detail: null, format: 'text', derived: false, bytes: 1, chunks: [{ seq: 0, off: 0, body: 'x' }] }, new Date().toISOString());
      expect(await ask()).toEqual([]);
    } finally {
      await raw.close();
      await s1.close();
      await s2.close();
    }
  });

  // Minor (latent): the array handed out is the one kept, so a caller that changes it changes later answers.
  it('answers are not aliased to the kept array', async () => {
    const db = b.fresh();
    const s1 = await db.open();
    try {
      const a = await s1.indexesWithoutText('org_a', ['idx']);
      a.push('mutated');
      expect(await s1.indexesWithoutText('org_a', ['idx'])).toEqual([]);
    } finally {
      await s1.close();
    }
  });
});
