import { sql } from 'kysely';
import { all, lock, one, run, type Tx } from '../ops.js';
import type { CommitFile, IndexSummary, ItemRow, StoreItems } from '../types.js';
import type { Part } from './base.js';
import { statement } from './statements.js';
import { writeText, type Prepare } from './text-rows.js';

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

/** Indexes and their items: the commit of an imported file (dedupe decided under the index lock), listing and deletion. */
export function withItems<B extends Part>(Base: B) {
  abstract class ItemsPart extends Base implements StoreItems {
    async commitFile(c: CommitFile): Promise<{ status: 'ready' | 'deduped'; duplicate_of: string | null } | null> {
      const r = await this.exec('tx', () => this.commitFileTx(c));
      if (r instanceof Error) throw r;
      return r;
    }

    async commitFiles(cs: CommitFile[], place?: (c: CommitFile) => void): Promise<({ status: 'ready' | 'deduped'; duplicate_of: string | null } | null | Error)[]> {
      if (place && this.pg) throw new Error('commitFiles: place runs inside a synchronous (SQLite) transaction only');
      const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));
      const one = (c: CommitFile) => this.exec('tx', () => this.commitFileTx(c, place)).catch(asError);
      if (cs.length < 2) return Promise.all(cs.map(one));
      if (this.pg) {
        // Files of one index serialize on its lock anyway: committed in order, as the contract says (the
        // first of two with the same content is the one that becomes "ready"); indexes run side by side.
        const out: ({ status: 'ready' | 'deduped'; duplicate_of: string | null } | null | Error)[] = new Array(cs.length);
        const groups = new Map<string, number[]>();
        cs.forEach((c, i) => groups.set(`${c.orgId}\0${c.index}`, [...(groups.get(`${c.orgId}\0${c.index}`) ?? []), i]));
        await Promise.all(
          [...groups.values()].map(async (idx) => {
            for (const i of idx) out[i] = await one(cs[i]!);
          }),
        );
        return out;
      }
      try {
        return await this.exec(
          'tx',
          function* (this: ItemsPart) {
            const out: ({ status: 'ready' | 'deduped'; duplicate_of: string | null } | null | Error)[] = [];
            const touched = new Set<string>();
            for (const c of cs) out.push(yield* this.commitFileTx(c, place, touched));
            return out;
          }.bind(this),
        );
      } catch {
        return Promise.all(cs.map(one)); // the batch rolled back: each file on its own, so only the failing one fails
      }
    }

    /** `touched`: the indexes whose row this transaction has already written (a batch writes each once). */
    private *commitFileTx(c: CommitFile, place?: (c: CommitFile) => void, touched?: Set<string>): Tx<{ status: 'ready' | 'deduped'; duplicate_of: string | null } | null | Error> {
      const f = yield* one(this.prepared(COMMIT_FILE, c.fileId));
      if (!f || f.status !== 'pending' || f.lease_owner !== c.owner) return null;
      if (place) {
        try {
          place(c);
        } catch (e) {
          return e instanceof Error ? e : new Error(String(e));
        }
      }
      // Two files with the same content committed at once must not both become "ready".
      yield* lock({ kind: 'index', org: c.orgId, index: c.index });
      const ix = `${c.orgId}\0${c.index}`;
      if (!touched?.has(ix)) {
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
      return { status, duplicate_of: duplicateOf };
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

    async deleteIndex(org: string, index: string): Promise<string[] | null> {
      return this.exec('tx', () => this.deleteIndexTx(org, index));
    }

    private *deleteIndexTx(org: string, index: string): Tx<string[] | null> {
      yield* lock({ kind: 'index', org, index });
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
      yield* run(this.qb.updateTable('indexes').set({ updated_at: new Date().toISOString() }).where('org_id', '=', org).where('name', '=', index));
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
  }
  return ItemsPart;
}
