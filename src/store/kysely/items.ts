import { sql } from 'kysely';
import { all, lock, one, run, type Tx } from '../ops.js';
import type { CommitFile, CommitResult, IndexSummary, ItemRow, StoreItems, TextPayload } from '../types.js';
import { ACTIVE_JOB, type Part } from './base.js';
import { statement, StatementMismatch } from './statements.js';
import { indexLockName, LOCK_INDEX_NS, sharedBlobLock } from '../pg-locks.js';
import { writeChunks, writeText, type Prepare } from './text-rows.js';

// The statements of a commit (commitFileTx), compiled once per store: a landing batch runs them for every file.

/** The file's state and lease holder; on PostgreSQL its row lock makes a concurrent cancel or takeover wait for this commit. */
const COMMIT_FILE = statement({
  name: 'commit.file',
  arity: 1,
  build: (qb, pg, [id]) => {
    const q = qb.selectFrom('job_files').select(['status', 'lease_owner']).where('id', '=', id);
    return pg ? q.forUpdate() : q;
  },
  params: (id: number) => [id],
});

/**
 * PostgreSQL: the index's lock and the blob lock (shared: blob GC waits until the batch's blobs have
 * their items), then the rows of a batch's files locked in id order (heartbeats and cancels that touch
 * several of them wait instead of deadlocking with the batch).
 */
const LOCK_BATCH = statement({
  name: 'commit.lock_batch',
  arity: 2,
  build: (qb, _pg, [lockName, ids]) => {
    const q = sql<{ id: number; status: string; lease_owner: string | null }>`SELECT f.id, f.status, f.lease_owner
      FROM (SELECT pg_advisory_xact_lock(${sql.lit(LOCK_INDEX_NS)}, hashtext(${lockName})), ${sharedBlobLock()}) l, job_files f
      WHERE f.id = ANY(${ids}::bigint[]) ORDER BY f.id FOR UPDATE OF f`;
    return { compile: () => q.compile(qb) };
  },
  params: (lockName: string, ids: number[]) => [lockName, ids],
});

/** Creates the index on its first item, or marks it updated. */
const COMMIT_INDEX = statement({
  name: 'commit.index',
  arity: 3,
  build: (qb, _pg, [org, index, now]) =>
    qb
      .insertInto('indexes')
      .values({ org_id: org, name: index, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['org_id', 'name']).doUpdateSet({ updated_at: now })),
  params: (org: string, index: string, now: string) => [org, index, now, now, now],
});

/** The item the key holds now, if any. */
const COMMIT_EXISTING = statement({
  name: 'commit.existing',
  arity: 3,
  build: (qb, _pg, [org, index, key]) => qb.selectFrom('items').select(['sha256', 'duplicate_of']).where('org_id', '=', org).where('index_name', '=', index).where('key', '=', key),
  params: (org: string, index: string, key: string) => [org, index, key],
});

/** The first key (by key) whose item holds this content itself. */
const COMMIT_TWIN = statement({
  name: 'commit.twin',
  arity: 3,
  build: (qb, _pg, [org, index, sha]) =>
    qb.selectFrom('items').select('key').where('org_id', '=', org).where('index_name', '=', index).where('sha256', '=', sha).where('duplicate_of', 'is', null).orderBy('key').limit(1),
  params: (org: string, index: string, sha256: string) => [org, index, sha256, 1],
});

/** Writes the key's item (a new one, or new content for the key). */
const COMMIT_ITEM = statement({
  name: 'commit.item',
  arity: 10,
  build: (qb, _pg, [org_id, index_name, key, connector_id, size, sha256, content_type, etag, imported_at, duplicate_of]) => {
    const item = { org_id, index_name, key, connector_id, size, sha256, content_type, etag, imported_at, duplicate_of };
    return qb
      .insertInto('items')
      .values(item)
      .onConflict((oc) => oc.columns(['org_id', 'index_name', 'key']).doUpdateSet({ ...item }));
  },
  params: (org: string, index: string, key: string, connectorId: string, size: number, sha256: string, contentType: string, etag: string | null, now: string, duplicateOf: string | null) => {
    const item = [org, index, key, connectorId, size, sha256, contentType, etag, now, duplicateOf];
    return [...item, ...item]; // the insert's values, then the same values for the conflict's update
  },
});

/** Ends the file in its final state and hands back its lease. */
const COMMIT_DONE = statement({
  name: 'commit.done',
  arity: 7,
  build: (qb, _pg, [status, duplicate_of, sha256, size, etag, version, id]) =>
    qb.updateTable('job_files').set({ status, duplicate_of, sha256, size, etag, version, error: null, lease_owner: null, lease_expires: 0 }).where('id', '=', id),
  // error, lease_owner and lease_expires are the query's constants: null, null, 0.
  params: (status: string, duplicateOf: string | null, sha256: string, size: number, etag: string | null, version: string, id: number) => [status, duplicateOf, sha256, size, etag, version, null, null, 0, id],
});

/** Records the version imported, so the next run of the connector can skip the key while it stays the same. */
const COMMIT_SEEN = statement({
  name: 'commit.seen',
  arity: 6,
  build: (qb, _pg, [org_id, connector_id, index_name, key, version, updated_at]) =>
    qb
      .insertInto('import_seen')
      .values({ org_id, connector_id, index_name, key, version, updated_at })
      .onConflict((oc) => oc.columns(['org_id', 'connector_id', 'index_name', 'key']).doUpdateSet({ version, updated_at })),
  params: (org: string, connectorId: string, index: string, key: string, version: string, now: string) => [org, connectorId, index, key, version, now, version, now],
});

/**
 * PostgreSQL: what a batch decides from, in one statement: the items of its keys ('e'), per content the
 * first key holding it itself ('t', as COMMIT_TWIN), and which of its keys others name as original ('d').
 */
const READ_BATCH = statement({
  name: 'commit.read_batch',
  arity: 4,
  build: (qb, _pg, [org, index, keys, shas]) => {
    const q = sql<{ kind: 'e' | 't' | 'd'; key: string; sha256: string; duplicate_of: string | null }>`
      SELECT 'e' AS kind, key, sha256, duplicate_of FROM items WHERE org_id = ${org} AND index_name = ${index} AND key = ANY(${keys}::text[])
      UNION ALL
      SELECT 't', MIN(key), sha256, NULL FROM items WHERE org_id = ${org} AND index_name = ${index} AND sha256 = ANY(${shas}::text[]) AND duplicate_of IS NULL GROUP BY sha256
      UNION ALL
      SELECT 'd', duplicate_of, '', NULL FROM items WHERE org_id = ${org} AND index_name = ${index} AND duplicate_of = ANY(${keys}::text[]) GROUP BY duplicate_of`;
    return { compile: () => q.compile(qb) };
  },
  params: (org: string, index: string, keys: string[], shas: string[]) => [org, index, keys, org, index, shas, org, index, keys],
});

/**
 * A batch that fails falls back to file by file, so that one file's trouble fails only that file;
 * SQL that cannot run (params that do not match, PostgreSQL's class 42: syntax, unknown column …)
 * would fail every file the same way and hide behind the fallback, so it is thrown instead.
 */
function isBug(e: unknown): boolean {
  return e instanceof StatementMismatch || String((e as { code?: unknown })?.code ?? '').startsWith('42');
}

/** A batch's writes (PostgreSQL), one array per column. */
interface BatchWrites {
  items: { keys: string[]; connectors: string[]; sizes: number[]; shas: string[]; types: string[]; etags: (string | null)[]; times: string[]; duplicateOf: (string | null)[] };
  done: { ids: number[]; statuses: string[]; duplicateOf: (string | null)[]; shas: string[]; sizes: number[]; etags: (string | null)[]; versions: string[] };
  seen: { connectors: string[]; keys: string[]; versions: string[]; times: string[] };
}

/** PostgreSQL: a batch's text rows, inserted in the arrays' order (the first of one content wins); the contents it wrote. */
const TEXTS_BATCH = statement({
  name: 'commit.texts_batch',
  arity: 7,
  build: (qb, _pg, [shas, statuses, details, formats, derived, bytes, times]) => {
    const q = sql<{ sha256: string }>`
      INSERT INTO texts (sha256, status, detail, format, derived, bytes, extracted_at)
      SELECT t.sha256, t.status, t.detail, t.format, t.derived, t.bytes, t.extracted_at
      FROM unnest(${shas}::text[], ${statuses}::text[], ${details}::text[], ${formats}::text[], ${derived}::integer[], ${bytes}::bigint[], ${times}::text[])
        WITH ORDINALITY AS t(sha256, status, detail, format, derived, bytes, extracted_at, n)
      ORDER BY t.n
      ON CONFLICT (sha256) DO NOTHING
      RETURNING sha256`;
    return { compile: () => q.compile(qb) };
  },
  params: (shas: string[], statuses: string[], details: (string | null)[], formats: string[], derived: number[], bytes: number[], times: string[]) => [shas, statuses, details, formats, derived, bytes, times],
});

/**
 * PostgreSQL: the rest of a batch's writes in one statement (each table once; the statements in WITH
 * run to completion whether read or not): the index row (COMMIT_INDEX), the items (COMMIT_ITEM, keys
 * distinct), the file rows (COMMIT_DONE) and the seen versions (COMMIT_SEEN).
 */
const WRITE_BATCH = statement({
  name: 'commit.write_batch',
  arity: 3 + 19,
  build: (qb, _pg, [org, index, now, ik, ic, isz, ish, it, ie, iti, id, did, dst, ddu, dsh, dsz, det, dve, sco, ske, sve, sti]) => {
    const q = sql`
      WITH ix AS (
        INSERT INTO indexes (org_id, name, created_at, updated_at) VALUES (${org}, ${index}, ${now}, ${now})
        ON CONFLICT (org_id, name) DO UPDATE SET updated_at = excluded.updated_at
      ), it AS (
        INSERT INTO items (org_id, index_name, key, connector_id, size, sha256, content_type, etag, imported_at, duplicate_of)
        SELECT ${org}, ${index}, * FROM unnest(${ik}::text[], ${ic}::text[], ${isz}::bigint[], ${ish}::text[], ${it}::text[], ${ie}::text[], ${iti}::text[], ${id}::text[])
        ON CONFLICT (org_id, index_name, key) DO UPDATE SET connector_id = excluded.connector_id, size = excluded.size, sha256 = excluded.sha256,
          content_type = excluded.content_type, etag = excluded.etag, imported_at = excluded.imported_at, duplicate_of = excluded.duplicate_of
      ), dn AS (
        UPDATE job_files SET status = d.status, duplicate_of = d.duplicate_of, sha256 = d.sha256, size = d.size, etag = d.etag, version = d.version,
          error = NULL, lease_owner = NULL, lease_expires = 0
        FROM unnest(${did}::bigint[], ${dst}::text[], ${ddu}::text[], ${dsh}::text[], ${dsz}::bigint[], ${det}::text[], ${dve}::text[]) AS d(id, status, duplicate_of, sha256, size, etag, version)
        WHERE job_files.id = d.id
      )
      INSERT INTO import_seen (org_id, connector_id, index_name, key, version, updated_at)
      SELECT ${org}, s.connector_id, ${index}, s.key, s.version, s.updated_at FROM unnest(${sco}::text[], ${ske}::text[], ${sve}::text[], ${sti}::text[]) AS s(connector_id, key, version, updated_at)
      ON CONFLICT (org_id, connector_id, index_name, key) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`;
    return { compile: () => q.compile(qb) };
  },
  // The arrays in BatchWrites order (batchArrays); org, index and now where the SQL repeats them.
  params: (org: string, index: string, now: string, ...a: unknown[]) => [org, index, now, now, org, index, ...a.slice(0, 15), org, index, ...a.slice(15)],
});

/** BatchWrites as WRITE_BATCH's arguments after org, index and now. */
function batchArrays(w: BatchWrites): unknown[] {
  const { items: i, done: d, seen: s } = w;
  return [
    ...[i.keys, i.connectors, i.sizes, i.shas, i.types, i.etags, i.times, i.duplicateOf],
    ...[d.ids, d.statuses, d.duplicateOf, d.shas, d.sizes, d.etags, d.versions],
    ...[s.connectors, s.keys, s.versions, s.times],
  ];
}

/** Indexes and their items: the commit of an imported file (dedupe decided under the index lock), listing and deletion. */
export function withItems<B extends Part>(Base: B) {
  abstract class ItemsPart extends Base implements StoreItems {
    async commitFile(c: CommitFile): Promise<CommitResult | null> {
      const r = await this.exec('tx', () => this.commitFileTx(c));
      if (r instanceof Error) throw r;
      return r;
    }

    async commitFiles(cs: CommitFile[], place?: (c: CommitFile) => void): Promise<(CommitResult | null | Error)[]> {
      const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));
      const one = (c: CommitFile) => this.exec('tx', () => this.commitFileTx(c, place)).catch(asError);
      if (cs.length < 2) return Promise.all(cs.map(one));
      if (this.pg) {
        // One transaction per index (files of one index serialize on its lock anyway), committed in order
        // as the contract says (the first of two with the same content is the one that becomes "ready");
        // indexes run side by side, each transaction holding one index lock (and the blob lock, shared),
        // so they cannot deadlock with each other.
        const out: (CommitResult | null | Error)[] = new Array(cs.length);
        const groups = new Map<string, number[]>();
        cs.forEach((c, i) => groups.set(`${c.orgId}\0${c.index}`, [...(groups.get(`${c.orgId}\0${c.index}`) ?? []), i]));
        await Promise.all(
          [...groups.values()].map(async (idx) => {
            const part = idx.map((i) => cs[i]!);
            try {
              const res = await this.exec(
                'tx',
                function* (this: ItemsPart) {
                  return yield* this.commitBatchTx(part, place);
                }.bind(this),
              );
              idx.forEach((i, k) => (out[i] = res[k]!));
            } catch (e) {
              if (isBug(e)) throw e;
              for (const i of idx) out[i] = await one(cs[i]!); // the batch rolled back: each file on its own
            }
          }),
        );
        return out;
      }
      try {
        return await this.exec(
          'tx',
          function* (this: ItemsPart) {
            const out: (CommitResult | null | Error)[] = [];
            const touched = new Set<string>();
            for (const c of cs) out.push(yield* this.commitFileTx(c, place, touched));
            return out;
          }.bind(this),
        );
      } catch (e) {
        if (isBug(e)) throw e;
        return Promise.all(cs.map(one)); // the batch rolled back: each file on its own, so only the failing one fails
      }
    }

    /**
     * PostgreSQL: one index's batch in one transaction of three statements, not some eight per file:
     * the index lock and the files' rows, what the decisions read (the keys' items, the contents'
     * originals), then every write. The decisions are commitFileTx's, made file by file in order over
     * what the batch itself writes. A batch that names a key twice, or gives new content to a key that
     * other keys name as their original (their duplicates move), goes file by file in the same transaction.
     */
    private *commitBatchTx(part: CommitFile[], place?: (c: CommitFile) => void): Tx<(CommitResult | null | Error)[]> {
      const { orgId, index } = part[0]!;
      const rows = yield* all(this.prepared(LOCK_BATCH, indexLockName(orgId, index), part.map((c) => c.fileId)));
      const files = new Map(rows.map((f) => [Number(f.id), f]));
      const live = part.filter((c) => {
        const f = files.get(c.fileId);
        return f && f.status === 'pending' && f.lease_owner === c.owner;
      });
      if (!live.length) return part.map(() => null);
      const keys = live.map((c) => c.key);
      const shas = [...new Set(live.filter((c) => c.dedupe).map((c) => c.sha256))];
      let fileByFile = new Set(keys).size !== keys.length;
      const existing = new Map<string, { sha256: string; duplicate_of: string | null }>();
      // The first key (in the store's byte order) of each content's original, as COMMIT_TWIN reads it.
      const twins = new Map<string, string>();
      if (!fileByFile) {
        const named = new Set<string>();
        for (const r of yield* all(this.prepared(READ_BATCH, orgId, index, keys, shas))) {
          if (r.kind === 'e') existing.set(r.key, r);
          else if (r.kind === 't') twins.set(r.sha256, r.key);
          else named.add(r.key);
        }
        // New content under a key that holds its content itself: its duplicates would move, or a later
        // file of the batch with the key's old content would need the next original of that content.
        const later = new Set(live.map((c) => c.sha256));
        fileByFile = live.some((c) => {
          const e = existing.get(c.key);
          return e && e.sha256 !== c.sha256 && e.duplicate_of === null && (named.has(c.key) || later.has(e.sha256));
        });
      }
      if (fileByFile) {
        // Rare (a key twice, or a moving original): texts go in file order here, so two such batches
        // sharing contents can deadlock, and are retried.
        const out: (CommitResult | null | Error)[] = [];
        for (const c of part) out.push(live.includes(c) ? yield* this.commitFileTx(c, place, undefined, files) : null);
        return out;
      }
      const w: BatchWrites = {
        items: { keys: [], connectors: [], sizes: [], shas: [], types: [], etags: [], times: [], duplicateOf: [] },
        done: { ids: [], statuses: [], duplicateOf: [], shas: [], sizes: [], etags: [], versions: [] },
        seen: { connectors: [], keys: [], versions: [], times: [] },
      };
      const results = new Map<number, CommitResult>();
      for (const c of live) {
        const e = existing.get(c.key);
        let r: CommitResult = { status: 'ready', duplicate_of: null };
        if (e && e.sha256 === c.sha256) r = { status: 'deduped', duplicate_of: e.duplicate_of ?? c.key };
        else {
          const twin = c.dedupe ? twins.get(c.sha256) : undefined;
          if (twin !== undefined) r = { status: 'deduped', duplicate_of: twin };
          if (e) r.replaced = e.sha256;
          const i = w.items;
          i.keys.push(c.key), i.connectors.push(c.connectorId), i.sizes.push(c.size), i.shas.push(c.sha256);
          i.types.push(c.contentType), i.etags.push(c.etag), i.times.push(c.now), i.duplicateOf.push(r.duplicate_of);
          const first = twins.get(c.sha256);
          if (r.duplicate_of === null && (first === undefined || Buffer.compare(Buffer.from(c.key), Buffer.from(first)) < 0)) twins.set(c.sha256, c.key);
        }
        results.set(c.fileId, r);
        const d = w.done;
        d.ids.push(c.fileId), d.statuses.push(r.status), d.duplicateOf.push(r.duplicate_of), d.shas.push(c.sha256);
        d.sizes.push(c.size), d.etags.push(c.etag), d.versions.push(c.version);
        w.seen.connectors.push(c.connectorId), w.seen.keys.push(c.key), w.seen.versions.push(c.version), w.seen.times.push(c.now);
      }
      yield* this.writeBatchTexts(live);
      yield* run(this.prepared(WRITE_BATCH, orgId, index, live[0]!.now, ...batchArrays(w)));
      // The blobs go into place last, once every statement has run: a batch that rolls back has placed
      // none, so blob GC cannot take one between the rollback and the file-by-file retry. A file whose
      // blob cannot be placed rolls the batch back too; file by file, it alone fails.
      if (place) for (const c of live) place(c);
      return part.map((c) => results.get(c.fileId) ?? null);
    }

    /**
     * The batch's text rows in one statement, in content order, so two batches that write the same
     * contents (texts are shared by every index) take their rows in the same order and never deadlock;
     * for one content the first file's text wins, as file by file. Chunks follow for the rows written here.
     */
    private *writeBatchTexts(live: CommitFile[]): Tx<void> {
      const texts = live.filter((c) => c.text).sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
      if (!texts.length) return;
      const col = <T>(f: (t: TextPayload, c: CommitFile) => T) => texts.map((c) => f(c.text!, c));
      const written = yield* all(
        this.prepared(
          TEXTS_BATCH,
          col((_, c) => c.sha256),
          col((t) => t.status),
          col((t) => t.detail),
          col((t) => t.format),
          col((t) => (t.derived ? 1 : 0)),
          col((t) => t.bytes),
          col((_, c) => c.now),
        ),
      );
      const firsts = new Map<string, CommitFile>();
      for (const c of texts) if (!firsts.has(c.sha256)) firsts.set(c.sha256, c);
      for (const { sha256 } of written) yield* writeChunks(this.qb, this.pg, sha256, firsts.get(sha256)!.text!.chunks);
    }

    /**
     * `touched`: the indexes whose row this transaction has already written (a batch writes each once);
     * `files`: the batch's file rows, already read and locked (a file missing there is gone).
     */
    private *commitFileTx(
      c: CommitFile,
      place?: (c: CommitFile) => void,
      touched?: Set<string>,
      files?: Map<number, { status: string; lease_owner: string | null }>,
    ): Tx<CommitResult | null | Error> {
      const f = files ? files.get(c.fileId) : yield* one(this.prepared(COMMIT_FILE, c.fileId));
      if (!f || f.status !== 'pending' || f.lease_owner !== c.owner) return null;
      if (place) {
        // PostgreSQL: blob GC (which holds this lock exclusively) waits until the blob has its item.
        if (this.pg) yield* lock({ kind: 'blobs', mode: 'shared' });
        try {
          place(c);
        } catch (e) {
          return e instanceof Error ? e : new Error(String(e));
        }
      }
      // Two files with the same content committed at once must not both become "ready"; a batch's
      // transaction takes its index's lock once.
      const ix = `${c.orgId}\0${c.index}`;
      if (!touched?.has(ix)) {
        yield* lock({ kind: 'index', org: c.orgId, index: c.index });
        touched?.add(ix);
        yield* run(this.prepared(COMMIT_INDEX, c.orgId, c.index, c.now));
      }
      const existing = yield* one(this.prepared(COMMIT_EXISTING, c.orgId, c.index, c.key));
      let status: 'ready' | 'deduped' = 'ready';
      let duplicateOf: string | null = null;
      if (existing && existing.sha256 === c.sha256) {
        // Same key, same content: already in the index (as itself, or as a duplicate of the key it names).
        status = 'deduped';
        duplicateOf = existing.duplicate_of ?? c.key;
      } else {
        // New content under this key: items that named it as their original hold other content now.
        if (existing && existing.duplicate_of === null) yield* this.promoteDuplicates(c.orgId, c.index, c.key);
        if (c.dedupe) {
          // The item that holds this content itself (never a duplicate), so duplicates never chain.
          const twin = yield* one(this.prepared(COMMIT_TWIN, c.orgId, c.index, c.sha256));
          if (twin) {
            status = 'deduped';
            duplicateOf = twin.key;
          }
        }
        // Every key gets its item: a duplicate shares the blob of the key it names (dedupe saves bytes, not keys).
        yield* run(this.prepared(COMMIT_ITEM, c.orgId, c.index, c.key, c.connectorId, c.size, c.sha256, c.contentType, c.etag, c.now, duplicateOf));
      }
      // The text rides in the item's transaction: a search never finds an item without its text status.
      if (c.text) yield* writeText(this.qb, this.pg, this.prepared.bind(this) as Prepare, c.sha256, c.text, c.now);
      yield* run(this.prepared(COMMIT_DONE, status, duplicateOf, c.sha256, c.size, c.etag, c.version, c.fileId));
      yield* run(this.prepared(COMMIT_SEEN, c.orgId, c.connectorId, c.index, c.key, c.version, c.now));
      return { status, duplicate_of: duplicateOf, ...(existing && existing.sha256 !== c.sha256 ? { replaced: existing.sha256 } : {}) };
    }

    /**
     * `key` no longer holds the content its duplicates name it for (deleted, or new content): the first
     * of them by key becomes the original (duplicate_of null) and the others name it instead. Their
     * blob is untouched (it is shared by content), so they stay readable.
     */
    private *promoteDuplicates(org: string, index: string, key: string): Tx<void> {
      const heir = yield* one(
        this.qb.selectFrom('items').select('key').where('org_id', '=', org).where('index_name', '=', index).where('duplicate_of', '=', key).orderBy('key').limit(1),
      );
      if (!heir) return;
      yield* run(this.qb.updateTable('items').set({ duplicate_of: null }).where('org_id', '=', org).where('index_name', '=', index).where('key', '=', heir.key));
      yield* run(this.qb.updateTable('items').set({ duplicate_of: heir.key }).where('org_id', '=', org).where('index_name', '=', index).where('duplicate_of', '=', key));
    }

    async listIndexes(org: string, opts: { after?: string; limit: number }): Promise<IndexSummary[]> {
      let q = this.qb
        .selectFrom('indexes as x')
        .leftJoin('items as i', (j) => j.onRef('i.org_id', '=', 'x.org_id').onRef('i.index_name', '=', 'x.name'))
        .select((eb) => ['x.name', 'x.updated_at', eb.fn.count<number>('i.key').as('items'), eb.fn.coalesce(eb.fn.sum<number>(sql<number>`case when ${sql.ref('i.duplicate_of')} is null then ${sql.ref('i.size')} else 0 end`), sql<number>`0`).as('bytes')])
        .where('x.org_id', '=', org);
      if (opts.after) q = q.where('x.name', '>', opts.after);
      const rows = await this.exec('auto', () => all(q.groupBy(['x.name', 'x.updated_at']).orderBy('x.name').limit(opts.limit)));
      return rows.map((r) => ({ name: r.name, items: Number(r.items), bytes: Number(r.bytes), updated_at: r.updated_at }));
    }

    async deleteIndex(org: string, index: string, opts: { unlessActive?: boolean } = {}): Promise<string[] | null | 'busy'> {
      return this.exec('tx', () => this.deleteIndexTx(org, index, !!opts.unlessActive));
    }

    private *deleteIndexTx(org: string, index: string, unlessActive: boolean): Tx<string[] | null | 'busy'> {
      yield* lock({ kind: 'index', org, index });
      if (unlessActive && (yield* one(this.qb.selectFrom('jobs').select('id').where('org_id', '=', org).where('index_name', '=', index).where('status', 'in', [...ACTIVE_JOB]).limit(1)))) return 'busy';
      const exists = yield* one(this.qb.selectFrom('indexes').select('name').where('org_id', '=', org).where('name', '=', index));
      if (!exists) return null;
      const shas = (yield* all(this.qb.selectFrom('items').select('sha256').distinct().where('org_id', '=', org).where('index_name', '=', index))).map((r) => r.sha256);
      yield* run(this.qb.deleteFrom('items').where('org_id', '=', org).where('index_name', '=', index));
      yield* run(this.qb.deleteFrom('import_seen').where('org_id', '=', org).where('index_name', '=', index));
      yield* run(this.qb.deleteFrom('indexes').where('org_id', '=', org).where('name', '=', index));
      return shas;
    }

    async deleteItem(org: string, index: string, key: string): Promise<string | null> {
      return this.exec('tx', () => this.deleteItemTx(org, index, key));
    }

    private *deleteItemTx(org: string, index: string, key: string): Tx<string | null> {
      // The same lock as commitFile: no import names this key as an original while its duplicates move.
      yield* lock({ kind: 'index', org, index });
      const item = yield* one(this.qb.selectFrom('items').select(['sha256', 'duplicate_of']).where('org_id', '=', org).where('index_name', '=', index).where('key', '=', key));
      if (!item) return null;
      yield* run(this.qb.deleteFrom('items').where('org_id', '=', org).where('index_name', '=', index).where('key', '=', key));
      if (item.duplicate_of === null) yield* this.promoteDuplicates(org, index, key);
      yield* run(this.qb.deleteFrom('import_seen').where('org_id', '=', org).where('index_name', '=', index).where('key', '=', key));
      const now = new Date().toISOString();
      yield* run(this.qb.updateTable('indexes').set({ updated_at: now, item_deleted_at: now }).where('org_id', '=', org).where('name', '=', index));
      return item.sha256;
    }

    async listItems(org: string, index: string, opts: { prefix?: string; after?: string; limit: number }): Promise<ItemRow[]> {
      let q = this.qb.selectFrom('items').selectAll().where('org_id', '=', org).where('index_name', '=', index);
      // cast: PostgreSQL cannot pick length() for an untyped parameter.
      if (opts.prefix) q = q.where(sql<boolean>`substr(key, 1, length(cast(${opts.prefix} as text))) = ${opts.prefix}`);
      if (opts.after !== undefined) q = q.where('key', '>', opts.after);
      return this.exec('auto', () => all(q.orderBy('key').limit(opts.limit)));
    }

    async getItem(org: string, index: string, key: string): Promise<ItemRow | null> {
      return this.exec('auto', () => one(this.qb.selectFrom('items').selectAll().where('org_id', '=', org).where('index_name', '=', index).where('key', '=', key)));
    }

    async indexExists(org: string, index: string): Promise<boolean> {
      return !!(await this.exec('auto', () => one(this.qb.selectFrom('indexes').select('name').where('org_id', '=', org).where('name', '=', index))));
    }

    async indexDeletions(org: string, index: string): Promise<{ itemDeletedAt: string | null } | null> {
      const row = await this.exec('auto', () => one(this.qb.selectFrom('indexes').select('item_deleted_at').where('org_id', '=', org).where('name', '=', index)));
      return row ? { itemDeletedAt: row.item_deleted_at } : null;
    }
  }
  return ItemsPart;
}
