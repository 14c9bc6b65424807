import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { all, lock, one, run, wait, type Tx } from '../ops.js';
import type { StoreBlobRefs } from '../types.js';
import type { Part } from './base.js';
import { dropTexts } from './text-rows.js';
import { statement, type Slot } from './statements.js';
import { sharedBlobLock } from '../pg-locks.js';
import { processAlive } from '../../shared/process.js';

/**
 * SQLite only: the meta row that tells markHashed to wait while blob GC removes blobs outside a
 * transaction (an asynchronous unlink, e.g. an object store's DELETE). Value: "<pid> <token> <expires ms>".
 */
const GC_GATE = 'blob_gc_gate';
const GC_GATE_MS = 10 * 60_000;

/** The gates this process has set and not yet cleared: a gate with our pid set by an earlier process with that pid (pid 1 in a container) is not live. */
const GATES_OF_THIS_PROCESS = new Set<string>();

function gateLive(value: string): boolean {
  const [pid, , until] = value.split(' ');
  if (!(Number(until) > Date.now())) return false;
  const p = Number(pid);
  if (p === process.pid) return GATES_OF_THIS_PROCESS.has(value);
  return processAlive(p);
}

/** Records a pending file's hash while `owner` still holds it. */
const MARK_HASHED = statement({
  name: 'hashed',
  arity: 3,
  build: (qb, _pg, [sha256, id, owner]) => hashUpdate(qb, sha256, id, owner),
  params: (sha256: string, id: number, owner: string) => [sha256, id, owner, 'pending'],
});

/**
 * PostgreSQL: MARK_HASHED for a batch (ids and hashes as parallel arrays), rows taken in id order, under
 * the blob lock (shared) as its own transaction; the ids it marked. A mark only has to commit under the
 * lock, before the blob is placed: GC, which holds the lock exclusively from reading the marks to
 * deleting, then either sees it or is over before it commits.
 */
const MARK_HASHED_MANY = statement({
  name: 'hashed.many',
  arity: 3,
  build: (qb, _pg, [ids, shas, owner]) =>
    qb
      .updateTable('job_files')
      .set({ sha256: sql<string>`m.sha256` })
      .from(
        sql<{ id: number; sha256: string }>`(SELECT f.id, m.sha256 FROM (SELECT ${sharedBlobLock()}) l, unnest(${ids}::bigint[], ${shas}::text[]) AS m(id, sha256) JOIN job_files f ON f.id = m.id ORDER BY f.id FOR UPDATE OF f)`.as('m'),
      )
      .whereRef('job_files.id', '=', 'm.id')
      .where('job_files.lease_owner', '=', owner)
      .where('job_files.status', '=', 'pending')
      .returning('job_files.id'),
  params: (ids: number[], shas: string[], owner: string) => [ids, shas, owner, 'pending'],
});

/** MARK_HASHED while no GC gate is set (SQLite): changes nothing while blob GC is removing blobs. */
const MARK_HASHED_UNLESS_GATED = statement({
  name: 'hashed.gated',
  arity: 3,
  build: (qb, _pg, [sha256, id, owner]) =>
    hashUpdate(qb, sha256, id, owner).where(({ not, exists, selectFrom }) => not(exists(selectFrom('meta').select(sql`1`.as('x')).where('meta.key', '=', GC_GATE)))),
  params: (sha256: string, id: number, owner: string) => [sha256, id, owner, 'pending', GC_GATE],
});

function hashUpdate(qb: Kysely<DB>, sha256: Slot, id: Slot, owner: Slot) {
  return qb.updateTable('job_files').set({ sha256 }).where('id', '=', id).where('lease_owner', '=', owner).where('status', '=', 'pending');
}

const isThenable = (v: unknown): v is PromiseLike<unknown> => !!v && typeof (v as { then?: unknown }).then === 'function';

/** What keeps a blob alive (an item, or a pending file that recorded its hash) and the GC that removes blobs nothing keeps. */
export function withBlobRefs<B extends Part>(Base: B) {
  abstract class BlobRefsPart extends Base implements StoreBlobRefs {
    async markHashed(fileId: number, owner: string, sha256: string): Promise<boolean> {
      return (await this.markHashedMany([{ fileId, sha256 }], owner))[0]!;
    }

    async markHashedMany(files: { fileId: number; sha256: string }[], owner: string): Promise<boolean[]> {
      // PostgreSQL: one statement for the batch, its rows updated in id order (a cancel or heartbeat that
      // locks them in another order and deadlocks is retried); it takes the blob lock, which makes GC
      // wait instead, so it never answers 'wait'.
      if (this.pg) {
        if (!files.length) return [];
        const ids = files.map((f) => f.fileId);
        const marked = await this.exec('auto', () => all(this.prepared(MARK_HASHED_MANY, ids, files.map((f) => f.sha256), owner)));
        const ok = new Set(marked.map((r) => Number(r.id)));
        return ids.map((id) => ok.has(id));
      }
      for (;;) {
        const r = await this.exec('tx', function* (this: BlobRefsPart): Tx<boolean[] | 'wait'> {
          const out: boolean[] = [];
          for (const f of files) {
            const one = yield* this.markHashedTx(f.fileId, owner, f.sha256);
            // A live GC gate holds for the whole transaction, so nothing was marked before it either.
            if (one === 'wait') return 'wait';
            out.push(one);
          }
          return out;
        }.bind(this));
        if (r !== 'wait') return r;
        await new Promise((resolve) => setTimeout(resolve, 20)); // SQLite: blob GC is removing blobs (see gcBlobs)
      }
    }

    /** SQLite (PostgreSQL marks a batch in one statement, MARK_HASHED_MANY). */
    private *markHashedTx(fileId: number, owner: string, sha256: string): Tx<boolean | 'wait'> {
      // One statement while no GC gate is set; only when it changes nothing, look at the gate.
      if ((yield* run(this.prepared(MARK_HASHED_UNLESS_GATED, sha256, fileId, owner))) > 0) return true;
      const gate = yield* one(this.qb.selectFrom('meta').select('value').where('key', '=', GC_GATE));
      if (!gate) return false; // canceled or lease lost
      if (gateLive(gate.value)) return 'wait';
      yield* run(this.qb.deleteFrom('meta').where('key', '=', GC_GATE).where('value', '=', gate.value)); // its process died
      return (yield* run(this.prepared(MARK_HASHED, sha256, fileId, owner))) > 0;
    }

    async blobReferenced(sha256: string): Promise<boolean> {
      return !!(await this.exec('auto', () => one(this.qb.selectFrom('items').select('key').where('sha256', '=', sha256).limit(1))));
    }

    async contentsHeld(org: string, shas: string[]): Promise<Set<string>> {
      const unique = [...new Set(shas)];
      const held = new Set<string>();
      // items_by_sha (sha256, org_id): one seek per content.
      for (let i = 0; i < unique.length; i += 500) {
        const part = unique.slice(i, i + 500);
        const rows = await this.exec('auto', () => all(this.qb.selectFrom('items').select('sha256').distinct().where('sha256', 'in', part).where('org_id', '=', org)));
        for (const r of rows) held.add(r.sha256);
      }
      return held;
    }

    /** Candidates that no item and no pending file (hashed, not yet committed) references. */
    private *unusedBlobs(batch: string[]): Tx<string[]> {
      const used = new Set([
        ...(yield* all(this.qb.selectFrom('items').select('sha256').where('sha256', 'in', batch))).map((r) => r.sha256),
        ...(yield* all(this.qb.selectFrom('job_files').select('sha256').where('sha256', 'in', batch).where('status', '=', 'pending'))).map((r) => r.sha256!),
      ]);
      return batch.filter((sha) => !used.has(sha));
    }

    /**
     * PostgreSQL: in one transaction under the exclusive blob lock, which markHashed takes shared,
     * so no process records a hash of a blob between the check and its removal; `unlink` may be async.
     *
     * SQLite: the check and the synchronous unlinks run in one write transaction (the database's only
     * write lock). When `unlink` returns a promise, the removals cannot finish inside that (synchronous)
     * transaction, so the transaction also commits a gate row that makes markHashed wait until the
     * removals have settled and the gate is cleared (a gate whose process died is ignored).
     */
    async gcBlobs(candidates: string[], unlink: (sha256: string) => void | Promise<void>): Promise<number> {
      const unique = [...new Set(candidates)];
      let removed = 0;
      for (let i = 0; i < unique.length; i += 200) {
        const batch = unique.slice(i, i + 200);
        removed += this.pg ? await this.exec('tx', () => this.gcBatchPg(batch, unlink)) : await this.gcBatchSqlite(batch, unlink);
      }
      return removed;
    }

    private *gcBatchPg(batch: string[], unlink: (sha256: string) => void | Promise<void>): Tx<number> {
      // The unlinks run inside the transaction (an S3 blob store may take a while): the session's idle
      // timeout, set for processes frozen mid-transaction (postgres.ts), is lifted for this one.
      yield* run({ compile: () => sql`SET LOCAL idle_in_transaction_session_timeout = 0`.compile(this.qb) });
      yield* lock({ kind: 'blobs', mode: 'exclusive' });
      const unused = yield* this.unusedBlobs(batch);
      yield* dropTexts(this.qb, unused);
      const results = yield* wait(Promise.allSettled(unused.map(async (sha) => unlink(sha))));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return unused.length;
    }

    private async gcBatchSqlite(batch: string[], unlink: (sha256: string) => void | Promise<void>): Promise<number> {
      const token = `${process.pid} ${randomBytes(6).toString('hex')} ${Date.now() + GC_GATE_MS}`;
      const pending: Promise<unknown>[] = [];
      const errors: unknown[] = [];
      GATES_OF_THIS_PROCESS.add(token);
      try {
        const n = await this.exec('tx', () => this.gcBatchSqliteTx(batch, unlink, token, pending, errors));
        if (pending.length) {
          try {
            for (const r of await Promise.allSettled(pending)) if (r.status === 'rejected') errors.push(r.reason);
          } finally {
            await this.exec('tx', () => run(this.qb.deleteFrom('meta').where('key', '=', GC_GATE).where('value', '=', token)));
          }
        }
        if (errors.length) throw errors[0];
        return n;
      } finally {
        GATES_OF_THIS_PROCESS.delete(token);
      }
    }

    private *gcBatchSqliteTx(batch: string[], unlink: (sha256: string) => void | Promise<void>, token: string, pending: Promise<unknown>[], errors: unknown[]): Tx<number> {
      const unused = yield* this.unusedBlobs(batch);
      if (!unused.length) return 0;
      yield* dropTexts(this.qb, unused);
      yield* run(this.qb.insertInto('meta').values({ key: GC_GATE, value: token }).onConflict((oc) => oc.column('key').doUpdateSet({ value: token })));
      for (const sha of unused) {
        try {
          const r = unlink(sha);
          if (isThenable(r)) pending.push(Promise.resolve(r));
        } catch (e) {
          errors.push(e);
        }
      }
      // All removals done synchronously: the gate was never visible to anyone.
      if (!pending.length) yield* run(this.qb.deleteFrom('meta').where('key', '=', GC_GATE).where('value', '=', token));
      return unused.length;
    }
  }
  return BlobRefsPart;
}
