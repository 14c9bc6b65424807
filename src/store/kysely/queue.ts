import { sql } from 'kysely';
import { all, lock, one, run, type Tx } from '../ops.js';
import { LEASE_LAPSED, type ClaimOptions, type ClaimedFile, type JobRow, type ListedFile, type NewJob, type StoreQueue } from '../types.js';
import { ACTIVE_JOB, type Part } from './base.js';
import { family, statement } from './statements.js';

/** Claims of one file before it fails for good (CLOUDPORT_MAX_ATTEMPTS). */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** First wait before a file whose worker died holding it twice is claimed again; it doubles with each attempt. */
export const DEFAULT_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 10 * 60_000;
export { LEASE_LAPSED };

const FILE_COLUMNS = ['org_id', 'job_id', 'key', 'size', 'etag', 'version', 'status', 'error', 'attempts', 'lease_expires'] as const;

/**
 * Inserts `n` listed files (10 values a file, in FILE_COLUMNS order); a file already listed for the job
 * stays as it is. One statement per chunk size: building a 200-row Kysely insert anew costs more than running it.
 */
const INSERT_FILES = family((n) =>
  statement({
    name: `files.insert.${n}`,
    arity: n * FILE_COLUMNS.length,
    build: (qb, _pg, v) =>
      qb
        .insertInto('job_files')
        .values(Array.from({ length: n }, (_, r) => Object.fromEntries(FILE_COLUMNS.map((c, j) => [c, v[r * FILE_COLUMNS.length + j]!]))) as never)
        .onConflict((oc) => oc.columns(['job_id', 'key']).doNothing()),
    params: (...values: unknown[]) => values,
  }),
);

/**
 * A claim's charge: a file whose lease lapsed while other files ran beside it (not `alone`) gets its
 * last attempt back for this one, since any of them may have killed the process; every other claim
 * counts one attempt.
 */
const CHARGE = sql<number>`CASE WHEN ${sql.ref('lease_owner')} IS NOT NULL AND ${sql.ref('alone')} = 0 THEN 0 ELSE 1 END`;

/**
 * PostgreSQL: a claim in one statement (one round trip, autocommit) instead of a transaction of five.
 * It takes the first `limit` claimable files, as claimFilesTx reads them, and leases those that need no
 * decision: a lapsed lease that was not alone, and files that have attempts left and are not a lapsed
 * alone lease's second or later attempt. The others (they wait a backoff, or fail with their last
 * error) stay as they are, and `held_back` counts them (on every row, and on a row of nulls when
 * nothing was leased), so that claimFilesTx decides them. Jobs still queued become running in the same
 * statement.
 */
const CLAIM_ONE_TRIP = statement({
  name: 'claim.one_trip',
  arity: 8,
  build: (qb, _pg, [t, exclude, limit, maxAttempts, owner, until, lapsed, now]) => {
    const q = sql<ClaimedFile & { held_back: number }>`
      WITH picked AS (
        SELECT f.id, ((f.lease_owner IS NOT NULL AND f.alone = 0 AND f.attempts <= ${maxAttempts}) OR (f.attempts < ${maxAttempts} AND (f.lease_owner IS NULL OR f.attempts < 2))) AS plain
        FROM job_files f JOIN jobs j ON j.id = f.job_id
        WHERE f.status = 'pending' AND f.lease_expires < ${t} AND j.status IN ('queued', 'running') AND j.connector_id <> ALL(${exclude}::text[])
        ORDER BY f.id LIMIT ${limit}
        FOR UPDATE OF f SKIP LOCKED
      ), claimed AS (
        UPDATE job_files f SET lease_owner = ${owner}, lease_expires = ${until}, attempts = f.attempts + ${CHARGE}, alone = 0,
          error = CASE WHEN f.lease_owner IS NOT NULL THEN ${lapsed} ELSE f.error END
        FROM picked p WHERE f.id = p.id AND p.plain
        RETURNING f.id, f.org_id, f.job_id, f.key, f.size, f.etag, f.version, f.status, f.error, f.duplicate_of, f.sha256, f.attempts, f.lease_owner, f.lease_expires, f.alone
      ), started AS (
        UPDATE jobs SET status = 'running', started_at = ${now} WHERE id IN (SELECT job_id FROM claimed) AND status = 'queued'
      )
      SELECT c.*, j.connector_id, j.index_name, j.params, j.kind, h.held_back
      FROM (SELECT (count(*) FILTER (WHERE NOT plain))::int AS held_back FROM picked) h
      LEFT JOIN (claimed c JOIN jobs j ON j.id = c.job_id) ON true
      ORDER BY c.id`;
    return { compile: () => q.compile(qb) };
  },
  params: (t: number, exclude: string[], limit: number, maxAttempts: number, owner: string, until: number, lapsed: string, now: string) => [maxAttempts, maxAttempts, t, exclude, limit, owner, until, lapsed, now],
});

/** The versions seen of `n` keys (org, connector, index, then the keys). */
const SEEN = family((n) =>
  statement({
    name: `seen.${n}`,
    arity: 3 + n,
    build: (qb, _pg, [o, c, x, ...ks]) =>
      qb.selectFrom('import_seen').select(['key', 'version']).where('org_id', '=', o!).where('connector_id', '=', c!).where('index_name', '=', x!).where('key', 'in', ks),
    params: (org: string, connectorId: string, index: string, ...keys: string[]) => [org, connectorId, index, ...keys],
  }),
);

/** The work queue: listed files, the listing lease, file claims with their attempts and backoff, leases, and files that end without an item. */
export function withQueue<B extends Part>(Base: B) {
  abstract class QueuePart extends Base implements StoreQueue {
    /**
     * A job's listed files, and for each one listed as failed (a key not found, a path refused) its
     * error in the job's log, in the same transaction: import_logs shows every file's failure, not only
     * those of files that were claimed.
     */
    private *insertFiles(org: string, jobId: string, connectorId: string, files: ListedFile[]): Tx<void> {
      // A key listed twice is one file (ON CONFLICT DO NOTHING), so one log line.
      const logged = new Set<string>();
      for (let i = 0; i < files.length; i += 200) {
        const chunk = files.slice(i, i + 200);
        if (!chunk.length) continue;
        yield* run(this.prepared(INSERT_FILES(chunk.length), ...chunk.flatMap((f) => [org, jobId, f.key, f.size, f.etag, f.version, f.status ?? 'pending', f.error ?? null, 0, 0])));
        const failed = chunk.filter((f) => f.status === 'failed' && !logged.has(f.key) && logged.add(f.key));
        if (!failed.length) continue;
        const time = new Date(this.clock()).toISOString();
        const logs = failed.map((f) => ({ org_id: org, job_id: jobId, connector_id: connectorId, level: 'error', key: f.key, message: (f.error ?? 'failed').slice(0, 2000), time }));
        yield* run(this.qb.insertInto('job_logs').values(logs));
      }
    }

    async createJob(job: NewJob, files: ListedFile[], started?: string, opts: { indexMustExist?: boolean } = {}): Promise<boolean> {
      return this.exec('tx', () => this.createJobCheckedTx(job, files, started, !!opts.indexMustExist));
    }

    private *createJobCheckedTx(job: NewJob, files: ListedFile[], started: string | undefined, indexMustExist: boolean): Tx<boolean> {
      if (indexMustExist) {
        // Under the index's lock, as delete_index takes it: a deletion either ends before (seen here) or
        // waits and then finds this job active (and refuses).
        yield* lock({ kind: 'index', org: job.org_id, index: job.index_name });
        if (!(yield* one(this.qb.selectFrom('indexes').select('name').where('org_id', '=', job.org_id).where('name', '=', job.index_name)))) return false;
      }
      yield* this.createJobTx(job, files, started);
      return true;
    }

    private *createJobTx(job: NewJob, files: ListedFile[], started?: string): Tx<void> {
      yield* run(this.qb.insertInto('jobs').values(job));
      if (started !== undefined) {
        const time = new Date(this.clock()).toISOString();
        yield* run(this.qb.insertInto('job_logs').values({ org_id: job.org_id, job_id: job.id, connector_id: job.connector_id, level: 'info', key: null, message: started.slice(0, 2000), time }));
      }
      yield* this.insertFiles(job.org_id, job.id, job.connector_id, files);
    }

    async createJobUnlessActive(job: NewJob, files: ListedFile[], cover: 'any' | 'missing-text', started?: string): Promise<JobRow | null> {
      return this.exec('tx', () => this.createJobUnlessActiveTx(job, files, cover, started));
    }

    private *createJobUnlessActiveTx(job: NewJob, files: ListedFile[], cover: 'any' | 'missing-text', started?: string): Tx<JobRow | null> {
      // The index's lock on PostgreSQL (SQLite's write transaction is already the only one): two processes
      // creating at once see each other's job.
      yield* lock({ kind: 'index', org: job.org_id, index: job.index_name });
      const active = yield* all(
        this.qb
          .selectFrom('jobs')
          .selectAll()
          .where('org_id', '=', job.org_id)
          .where('index_name', '=', job.index_name)
          .where('kind', '=', job.kind)
          .where('status', 'in', [...ACTIVE_JOB])
          .orderBy(sql`CASE WHEN status = 'running' THEN 0 ELSE 1 END`)
          .orderBy('created_at')
          .limit(10),
      );
      for (const j of active) {
        if (j.listing_complete === 0) {
          // A listing still going on lists what this job would from its cursor on; behind the cursor,
          // the pending files must cover what lacks text, as below.
          if (cover === 'any') return j;
          const after = (JSON.parse(j.listing_state ?? '{}') as { after?: string | null }).after ?? null;
          if (after === null || !(yield* this.uncoveredItem(j, after))) return j;
          continue;
        }
        if (!(yield* one(this.qb.selectFrom('job_files').select('id').where('job_id', '=', j.id).where('status', '=', 'pending').limit(1)))) continue;
        if (cover === 'any') return j;
        if (!(yield* this.uncoveredItem(j, null))) return j;
      }
      yield* this.createJobTx(job, files, started);
      return null;
    }

    /**
     * An item of the reindex job's index without text (up to key `upTo`, where its listing stands) that
     * has no file pending in that job for its key and content. A count of files would not do: a pending
     * item may have been deleted, or re-imported with new content (which that job skips), and another
     * imported.
     */
    private *uncoveredItem(j: JobRow, upTo: string | null): Tx<{ key: string } | null> {
      let q = this.qb
        .selectFrom('items as i')
        .select('i.key')
        .where('i.org_id', '=', j.org_id)
        .where('i.index_name', '=', j.index_name)
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('texts as t').select('t.sha256').whereRef('t.sha256', '=', 'i.sha256'))))
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('job_files as f').select('f.id').where('f.job_id', '=', j.id).where('f.status', '=', 'pending').whereRef('f.key', '=', 'i.key').whereRef('f.version', '=', 'i.sha256'))),
        );
      if (upTo !== null) q = q.where('i.key', '<=', upTo);
      return yield* one(q.limit(1));
    }

    async appendListing(jobId: string, owner: string, files: ListedFile[], state: string | null, complete: boolean, leaseMs: number): Promise<boolean> {
      return this.exec('tx', () => this.appendListingTx(jobId, owner, files, state, complete, leaseMs));
    }

    private *appendListingTx(jobId: string, owner: string, files: ListedFile[], state: string | null, complete: boolean, leaseMs: number): Tx<boolean> {
      let q = this.qb.selectFrom('jobs').select(['lease_owner', 'status', 'org_id', 'connector_id']).where('id', '=', jobId);
      if (this.pg) q = q.forUpdate(); // a concurrent cancel or takeover waits for this page
      const job = yield* one(q);
      if (!job || job.lease_owner !== owner || !ACTIVE_JOB.includes(job.status as never)) return false;
      yield* this.insertFiles(job.org_id, jobId, job.connector_id, files);
      yield* run(
        this.qb
          .updateTable('jobs')
          .set({ listing_state: state, listing_complete: complete ? 1 : 0, lease_expires: complete ? 0 : this.clock() + leaseMs, lease_owner: complete ? null : owner })
          .where('id', '=', jobId),
      );
      return true;
    }

    async claimListing(owner: string, leaseMs: number): Promise<JobRow | null> {
      return this.exec('tx', () => this.claimListingTx(owner, leaseMs));
    }

    private *claimListingTx(owner: string, leaseMs: number): Tx<JobRow | null> {
      const now = this.clock();
      let q = this.qb
        .selectFrom('jobs')
        .selectAll()
        .where('listing_complete', '=', 0)
        .where('status', 'in', ACTIVE_JOB)
        .where('lease_expires', '<', now)
        .orderBy('created_at')
        .limit(1);
      if (this.pg) q = q.forUpdate().skipLocked();
      const job = yield* one(q);
      if (!job) return null;
      const started = job.started_at ?? new Date(now).toISOString();
      yield* run(this.qb.updateTable('jobs').set({ lease_owner: owner, lease_expires: now + leaseMs, status: 'running', started_at: started }).where('id', '=', job.id));
      return { ...job, lease_owner: owner, lease_expires: now + leaseMs, status: 'running', started_at: started };
    }

    async failListing(jobId: string, owner: string, error: string, now: string): Promise<void> {
      void now;
      await this.exec('auto', () =>
        run(
          this.qb
            .updateTable('jobs')
            // 2: no more listing, and the listing did not reach its end (listing_complete reads false).
            .set({ error: error.slice(0, 1000), listing_complete: 2, lease_owner: null, lease_expires: 0 })
            .where('id', '=', jobId)
            .where('lease_owner', '=', owner),
        ),
      );
    }

    async claimFiles(owner: string, limit: number, leaseMs: number, now: string, opts?: ClaimOptions): Promise<ClaimedFile[]> {
      if (limit <= 0) return [];
      const exclude = opts?.excludeConnectors ?? [];
      const maxAttempts = Math.max(1, opts?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
      const backoffMs = opts?.backoffMs ?? DEFAULT_BACKOFF_MS;
      if (!this.pg) return this.exec('tx', () => this.claimFilesTx(owner, limit, leaseMs, now, exclude, maxAttempts, backoffMs));
      const t = this.clock();
      const rows = await this.exec('auto', () => all(this.prepared(CLAIM_ONE_TRIP, t, exclude, limit, maxAttempts, owner, t + leaseMs, LEASE_LAPSED, now)));
      const files: ClaimedFile[] = [];
      for (const { held_back: _, ...f } of rows) if (f.id !== null) files.push(f);
      if (!rows[0]?.held_back) return files;
      // Some of the first files need a decision (a backoff, or their last attempt spent): made file by file.
      const more = await this.exec('tx', () => this.claimFilesTx(owner, limit - files.length, leaseMs, now, exclude, maxAttempts, backoffMs));
      return [...files, ...more].sort((a, b) => a.id - b.id);
    }

    /**
     * Each claim counts an attempt (a worker that dies holding a file cannot count it later). A file whose
     * previous lease ran out (its worker died or stalled) records that as its last error. If it ran alone,
     * from its second such attempt on it waits a backoff that doubles with each attempt before it is
     * claimed again; if not, its last attempt is refunded (CHARGE). A file with maxAttempts behind it
     * fails here, in the claim, with its last error.
     */
    private *claimFilesTx(owner: string, limit: number, leaseMs: number, now: string, exclude: string[], maxAttempts: number, backoffMs: number): Tx<ClaimedFile[]> {
      const t = this.clock();
      let q = this.qb
        .selectFrom('job_files as f')
        .innerJoin('jobs as j', 'j.id', 'f.job_id')
        .select(['f.id', 'f.attempts', 'f.lease_owner', 'f.error', 'f.alone'])
        .where('f.status', '=', 'pending')
        .where('f.lease_expires', '<', t)
        .where('j.status', 'in', ACTIVE_JOB);
      if (exclude.length) q = q.where('j.connector_id', 'not in', exclude);
      q = q.orderBy('f.id').limit(limit);
      // Concurrent claimers skip each other's rows instead of queueing on them (only the files are locked, not their job).
      if (this.pg) q = q.forUpdate('f').skipLocked();
      const rows = yield* all(q);
      if (!rows.length) return [];
      const ids: number[] = [];
      for (const r of rows) {
        const lapsed = r.lease_owner !== null;
        // (Its last attempt refunded, a lapse beside other files leaves its count as it was.)
        const spent = lapsed && !r.alone ? r.attempts - 1 : r.attempts;
        if (spent >= maxAttempts) yield* this.giveUp(r.id, spent, lapsed ? LEASE_LAPSED : (r.error ?? 'no error was recorded'), now);
        else if (lapsed && !r.alone) ids.push(r.id);
        else if (lapsed && r.attempts >= 2) {
          const wait = Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** (r.attempts - 2));
          yield* run(this.qb.updateTable('job_files').set({ lease_owner: null, lease_expires: t + wait, error: LEASE_LAPSED }).where('id', '=', r.id));
        } else ids.push(r.id);
      }
      if (!ids.length) return [];
      const files = yield* all(
        this.qb
          .updateTable('job_files')
          .set((eb) => ({
            lease_owner: owner,
            lease_expires: t + leaseMs,
            attempts: eb('attempts', '+', CHARGE),
            alone: 0,
            error: sql<string | null>`case when ${sql.ref('lease_owner')} is not null then ${LEASE_LAPSED} else ${sql.ref('error')} end`,
          }))
          .where('id', 'in', ids)
          .returningAll(),
      );
      files.sort((a, b) => a.id - b.id);
      const jobIds = [...new Set(files.map((f) => f.job_id))];
      const jobs = yield* all(this.qb.selectFrom('jobs').select(['id', 'org_id', 'connector_id', 'index_name', 'params', 'status', 'kind']).where('id', 'in', jobIds));
      // Jobs only move from queued to running: once the rows read say running, the update would change nothing.
      if (jobs.some((j) => j.status === 'queued')) yield* run(this.qb.updateTable('jobs').set({ status: 'running', started_at: now }).where('id', 'in', jobIds).where('status', '=', 'queued'));
      const byId = new Map(jobs.map((j) => [j.id, j]));
      return files.map((f) => {
        const j = byId.get(f.job_id)!;
        return { ...f, connector_id: j.connector_id, index_name: j.index_name, params: j.params, kind: j.kind };
      });
    }

    /** Fails a file that used up its attempts, with its last error, and says so in its job's log. */
    private *giveUp(fileId: number, attempts: number, lastError: string, now: string): Tx<void> {
      const message = `gave up after ${attempts} attempts: ${lastError}`.slice(0, 1000);
      const f = yield* one(
        this.qb.updateTable('job_files').set({ status: 'failed', error: message, lease_owner: null, lease_expires: 0 }).where('id', '=', fileId).returning(['job_id', 'key', 'org_id']),
      );
      if (!f) return;
      const j = yield* one(this.qb.selectFrom('jobs').select('connector_id').where('id', '=', f.job_id));
      yield* run(this.qb.insertInto('job_logs').values({ org_id: f.org_id, job_id: f.job_id, connector_id: j?.connector_id ?? '', time: now, level: 'error', key: f.key, message }));
    }

    async heartbeat(owner: string, fileIds: number[], jobIds: string[], leaseMs: number): Promise<{ lostFiles: number[] }> {
      return this.exec('tx', () => this.heartbeatTx(owner, fileIds, jobIds, leaseMs));
    }

    private *heartbeatTx(owner: string, fileIds: number[], jobIds: string[], leaseMs: number): Tx<{ lostFiles: number[] }> {
      const until = this.clock() + leaseMs;
      let lost: number[] = [];
      if (fileIds.length) {
        const held = yield* all(
          this.qb
            .updateTable('job_files')
            .set({ lease_expires: until })
            .where('id', 'in', fileIds)
            .where('lease_owner', '=', owner)
            .where('status', '=', 'pending')
            .returning('id'),
        );
        const ok = new Set(held.map((r) => r.id));
        lost = fileIds.filter((id) => !ok.has(id));
      }
      if (jobIds.length) {
        yield* run(this.qb.updateTable('jobs').set({ lease_expires: until }).where('id', 'in', jobIds).where('lease_owner', '=', owner));
      }
      return { lostFiles: lost };
    }

    async releaseLeases(owner: string, fileIds?: number[]): Promise<void> {
      if (fileIds && !fileIds.length) return;
      await this.exec('tx', () => this.releaseLeasesTx(owner, fileIds));
    }

    private *releaseLeasesTx(owner: string, fileIds?: number[]): Tx<void> {
      // Work handed back was not tried to its end: its claim does not count as an attempt.
      let q = this.qb
        .updateTable('job_files')
        .set({ lease_owner: null, lease_expires: 0, alone: 0, attempts: sql<number>`case when ${sql.ref('attempts')} > 0 then ${sql.ref('attempts')} - 1 else 0 end` })
        .where('lease_owner', '=', owner)
        .where('status', '=', 'pending');
      if (fileIds) q = q.where('id', 'in', fileIds);
      yield* run(q);
      if (!fileIds) yield* run(this.qb.updateTable('jobs').set({ lease_owner: null, lease_expires: 0 }).where('lease_owner', '=', owner));
    }

    async leaseOwners(limit: number): Promise<string[]> {
      const files = await this.exec('auto', () => all(this.qb.selectFrom('job_files').select('lease_owner').distinct().where('lease_owner', 'is not', null).where('status', '=', 'pending').limit(limit)));
      const jobs = await this.exec('auto', () => all(this.qb.selectFrom('jobs').select('lease_owner').distinct().where('lease_owner', 'is not', null).limit(limit)));
      return [...new Set([...files, ...jobs].map((r) => r.lease_owner!))].slice(0, limit);
    }

    async expireLeases(owners: string[]): Promise<void> {
      if (!owners.length) return;
      await this.exec('tx', () => this.expireLeasesTx(owners));
    }

    private *expireLeasesTx(owners: string[]): Tx<void> {
      // 1 ms after the epoch: lapsed for every reader, and not 0, which means "never leased".
      yield* run(this.qb.updateTable('job_files').set({ lease_expires: 1 }).where('lease_owner', 'in', owners).where('status', '=', 'pending'));
      yield* run(this.qb.updateTable('jobs').set({ lease_expires: 1 }).where('lease_owner', 'in', owners));
    }

    async markAlone(fileId: number, owner: string): Promise<boolean> {
      const n = await this.exec('auto', () => run(this.qb.updateTable('job_files').set({ alone: 1 }).where('id', '=', fileId).where('lease_owner', '=', owner).where('status', '=', 'pending')));
      return n > 0;
    }

    async deferFile(fileId: number, owner: string, retryAt: number, note: string): Promise<void> {
      const refund = sql<number>`case when ${sql.ref('attempts')} > 0 then ${sql.ref('attempts')} - 1 else 0 end`;
      await this.exec('auto', () =>
        run(
          this.qb
            .updateTable('job_files')
            .set({ error: note.slice(0, 1000), lease_owner: null, lease_expires: retryAt, attempts: refund })
            .where('id', '=', fileId)
            .where('lease_owner', '=', owner)
            .where('status', '=', 'pending'),
        ),
      );
    }

    async failFile(fileId: number, owner: string, error: string, retryAt: number | null): Promise<void> {
      const set =
        retryAt !== null
          ? { error: error.slice(0, 1000), lease_owner: null, lease_expires: retryAt }
          : { status: 'failed', error: error.slice(0, 1000), lease_owner: null, lease_expires: 0 };
      await this.exec('auto', () =>
        run(this.qb.updateTable('job_files').set(set).where('id', '=', fileId).where('lease_owner', '=', owner).where('status', '=', 'pending')),
      );
    }

    async completeFile(fileId: number, owner: string, o: { status: 'ready' | 'skipped'; sha256: string | null; size: number | null; note?: string }): Promise<boolean> {
      const set = { status: o.status, sha256: o.sha256, size: o.size, error: o.status === 'skipped' ? (o.note ?? null) : null, lease_owner: null, lease_expires: 0 };
      return (await this.exec('auto', () => run(this.qb.updateTable('job_files').set(set).where('id', '=', fileId).where('lease_owner', '=', owner).where('status', '=', 'pending')))) > 0;
    }

    async seenVersions(org: string, connectorId: string, index: string, keys: string[]): Promise<Map<string, string>> {
      const out = new Map<string, string>();
      for (let i = 0; i < keys.length; i += 500) {
        const part = keys.slice(i, i + 500);
        const rows = await this.exec('auto', () => all(this.prepared(SEEN(part.length), org, connectorId, index, ...part)));
        for (const r of rows) out.set(r.key, r.version);
      }
      return out;
    }
  }
  return QueuePart;
}
