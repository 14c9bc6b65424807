import { randomBytes } from 'node:crypto';
import { sql, type Compilable, type CompiledQuery, type Insertable, type Kysely } from 'kysely';
import type { DB } from './schema.js';
import { all, lock, one, run, wait, type Dialect, type Tx } from './ops.js';
import type {
  ApiKeyRow,
  AutomationRow,
  ClaimOptions,
  ClaimedFile,
  CommitFile,
  ConnectorRow,
  FileState,
  HealthOutcome,
  IndexSummary,
  ItemRow,
  JobFileRow,
  JobProgress,
  JobRow,
  ListedFile,
  LogEntry,
  NewAutomation,
  NewConnector,
  NewJob,
  Page,
  Store,
} from './types.js';

export const ACTIVE_JOB = ['queued', 'running'] as const;

/** Claims of one file before it fails for good (CLOUDPORT_MAX_ATTEMPTS). */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** First wait before a file whose worker died holding it twice is claimed again; it doubles with each attempt. */
export const DEFAULT_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 10 * 60_000;
/** The last error of a file whose worker stopped (crashed, killed) or stalled past its lease while working on it. */
export const LEASE_LAPSED = 'its worker stopped or stalled while working on it (the lease ran out)';

/** Adds one (status, count, bytes) group to a job's progress. Bytes count for files that are or will be stored. */
function addProgress(p: JobProgress, status: FileState, n: number, bytes: number): void {
  p.counts[status] = n;
  if (status === 'ready' || status === 'deduped') p.bytes_done += bytes;
  if (status === 'ready' || status === 'deduped' || status === 'pending') p.bytes_total += bytes;
}

const emptyProgress = (): JobProgress => ({ counts: { pending: 0, ready: 0, deduped: 0, skipped: 0, failed: 0, canceled: 0 }, bytes_done: 0, bytes_total: 0 });

/**
 * SQLite only: the meta row that tells markHashed to wait while blob GC removes blobs outside a
 * transaction (an asynchronous unlink, e.g. an object store's DELETE). Value: "<pid> <token> <expires ms>".
 */
const GC_GATE = 'blob_gc_gate';
const GC_GATE_MS = 10 * 60_000;

function gateLive(value: string): boolean {
  const [pid, , until] = value.split(' ');
  if (!(Number(until) > Date.now())) return false;
  const p = Number(pid);
  if (p === process.pid) return true;
  try {
    process.kill(p, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Placeholder arguments of a prepared query (see KyselyStore.prep); only ever compiled, never stored. */
const ARG = (i: number) => `\u0000arg${i}\u0000`;
const ARG_RE = /^\u0000arg(\d+)\u0000$/;

const isThenable = (v: unknown): v is PromiseLike<unknown> => !!v && typeof (v as { then?: unknown }).then === 'function';

/**
 * Every Store method, written once for SQLite and PostgreSQL. Each method is a generator of ops
 * (see ops.ts) that a subclass runs: `exec('tx', …)` in one transaction, `exec('auto', …)`
 * without one (each statement stands alone). Dialect differences are explicit `this.pg` branches:
 * row locks (FOR UPDATE [SKIP LOCKED]) and advisory locks, which SQLite does not need because a
 * write transaction holds the database's only write lock.
 */
export abstract class KyselyStore implements Store {
  abstract readonly dialect: Dialect;
  protected abstract readonly qb: Kysely<DB>;
  protected abstract exec<T>(mode: 'tx' | 'auto', body: () => Tx<T>): Promise<T>;

  protected get pg(): boolean {
    return this.dialect === 'postgres';
  }

  /** Milliseconds from this host's clock to the store's clock (PostgreSQL: the server's), so leases of processes on several hosts compare on one clock. */
  protected clockOffset = 0;

  /** Epoch ms on the store's clock: what leases are written and compared in. */
  clock(): number {
    return Date.now() + this.clockOffset;
  }

  private readonly prepared = new Map<string, CompiledQuery>();

  /**
   * A query on the per-file hot path, built and compiled once: `build` receives placeholders, and each
   * call substitutes its `args` for them. Only arguments vary; the query's shape must not depend on them.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  protected prep<O>(name: string, build: (...args: any[]) => Compilable<O>, args: unknown[]): Compilable<O> {
    let c = this.prepared.get(name);
    if (!c) {
      c = build(...args.map((_, i) => ARG(i))).compile();
      this.prepared.set(name, c);
    }
    const base = c;
    return {
      compile: () =>
        ({
          ...base,
          parameters: base.parameters.map((p) => {
            const m = typeof p === 'string' ? ARG_RE.exec(p) : null;
            return m ? args[Number(m[1])] : p;
          }),
        }) as CompiledQuery<O>,
    };
  }

  async getMeta(key: string): Promise<string | null> {
    return (await this.exec('auto', () => one(this.qb.selectFrom('meta').select('value').where('key', '=', key))))?.value ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.exec('auto', () => run(this.qb.insertInto('meta').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value }))));
  }

  async deleteMeta(key: string): Promise<void> {
    await this.exec('auto', () => run(this.qb.deleteFrom('meta').where('key', '=', key)));
  }

  async setMetaOnce(key: string, value: string): Promise<string> {
    return this.exec('tx', () => this.setMetaOnceTx(key, value));
  }

  private *setMetaOnceTx(key: string, value: string): Tx<string> {
    yield* run(this.qb.insertInto('meta').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()));
    return (yield* one(this.qb.selectFrom('meta').select('value').where('key', '=', key)))!.value;
  }

  async countConnectors(): Promise<number> {
    const r = await this.exec('auto', () => one(this.qb.selectFrom('connectors').select((eb) => eb.fn.countAll<number>().as('n'))));
    return Number(r?.n ?? 0);
  }

  async insertConnector(row: NewConnector): Promise<void> {
    await this.exec('auto', () => run(this.qb.insertInto('connectors').values(row)));
  }

  async getConnector(org: string, id: string): Promise<ConnectorRow | null> {
    return this.exec('auto', () => one(this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org).where('id', '=', id)));
  }

  async findConnectorByName(org: string, name: string): Promise<ConnectorRow | null> {
    return this.exec('auto', () => one(this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org).where('name', '=', name)));
  }

  async listConnectors(org: string, opts: { status?: string; after?: string; limit: number }): Promise<Page<ConnectorRow>> {
    let q = this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org);
    if (opts.status) q = q.where('status', '=', opts.status);
    if (opts.after) q = q.where('id', '>', opts.after);
    const rows = await this.exec('auto', () => all(q.orderBy('id').limit(opts.limit + 1)));
    const more = rows.length > opts.limit;
    if (more) rows.pop();
    return { rows, next: more ? rows[rows.length - 1]!.id : null };
  }

  async updateConnector(org: string, id: string, patch: Partial<NewConnector>): Promise<ConnectorRow | null> {
    return this.exec('tx', () => this.updateConnectorTx(org, id, patch));
  }

  private *updateConnectorTx(org: string, id: string, patch: Partial<NewConnector>): Tx<ConnectorRow | null> {
    yield* run(this.qb.updateTable('connectors').set(patch).where('org_id', '=', org).where('id', '=', id));
    return yield* one(this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org).where('id', '=', id));
  }

  async deleteConnector(org: string, id: string): Promise<boolean> {
    return this.exec('tx', () => this.deleteConnectorTx(org, id));
  }

  /** One transaction: a crash can never leave a deleted connector's automations or seen versions behind. */
  private *deleteConnectorTx(org: string, id: string): Tx<boolean> {
    const n = yield* run(this.qb.deleteFrom('connectors').where('org_id', '=', org).where('id', '=', id));
    yield* run(this.qb.deleteFrom('import_seen').where('org_id', '=', org).where('connector_id', '=', id));
    yield* run(this.qb.deleteFrom('automations').where('org_id', '=', org).where('connector_id', '=', id));
    return n > 0;
  }

  async sweepOrphans(): Promise<number> {
    return this.exec('tx', () => this.sweepOrphansTx());
  }

  private *sweepOrphansTx(): Tx<number> {
    let n = 0;
    for (const table of ['automations', 'import_seen'] as const) {
      n += yield* run(
        this.qb
          .deleteFrom(table)
          .where(({ not, exists, selectFrom }) =>
            not(exists(selectFrom('connectors as c').select(sql`1`.as('x')).whereRef('c.org_id', '=', `${table}.org_id`).whereRef('c.id', '=', `${table}.connector_id`))),
          ),
      );
    }
    return n;
  }

  async recordHealth(org: string, id: string, o: HealthOutcome): Promise<ConnectorRow | null> {
    return this.exec('tx', () => this.recordHealthTx(org, id, o));
  }

  private *recordHealthTx(org: string, id: string, o: HealthOutcome): Tx<ConnectorRow | null> {
    let q = this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org).where('id', '=', id);
    if (this.pg) q = q.forUpdate(); // concurrent outcomes must not lose a count
    const c = yield* one(q);
    if (!c) return null;
    const patch: Partial<NewConnector> = { updated_at: o.now };
    if (o.ok) {
      patch.consecutive_failures = 0;
      patch.last_error = null;
      if (o.synced) patch.last_sync_at = o.now;
      if (c.status === 'FAILED') patch.status = 'ACTIVE';
    } else {
      const n = c.consecutive_failures + 1;
      patch.consecutive_failures = n;
      patch.last_error = (o.error ?? 'failed').slice(0, 1000);
      if (n >= o.failAfter && c.status === 'ACTIVE') patch.status = 'FAILED';
    }
    yield* run(this.qb.updateTable('connectors').set(patch).where('id', '=', id));
    return { ...c, ...patch } as ConnectorRow;
  }

  private *insertFiles(org: string, jobId: string, files: ListedFile[]): Tx<void> {
    // Prepared once per chunk size: building a 200-row Kysely insert anew costs more than running it.
    const cols = ['org_id', 'job_id', 'key', 'size', 'etag', 'version', 'status', 'error', 'attempts', 'lease_expires'] as const;
    for (let i = 0; i < files.length; i += 200) {
      const chunk = files.slice(i, i + 200);
      if (!chunk.length) continue;
      yield* run(
        this.prep(
          `files.insert.${chunk.length}`,
          (...v: unknown[]) =>
            this.qb
              .insertInto('job_files')
              .values(chunk.map((_, r) => Object.fromEntries(cols.map((c, j) => [c, v[r * cols.length + j]])) as never))
              .onConflict((oc) => oc.columns(['job_id', 'key']).doNothing()),
          chunk.flatMap((f) => [org, jobId, f.key, f.size, f.etag, f.version, f.status ?? 'pending', f.error ?? null, 0, 0]),
        ),
      );
    }
  }

  async createJob(job: NewJob, files: ListedFile[]): Promise<void> {
    await this.exec('tx', () => this.createJobTx(job, files));
  }

  private *createJobTx(job: NewJob, files: ListedFile[]): Tx<void> {
    yield* run(this.qb.insertInto('jobs').values(job));
    yield* this.insertFiles(job.org_id, job.id, files);
  }

  async getJob(org: string, id: string): Promise<JobRow | null> {
    return this.exec('auto', () => one(this.qb.selectFrom('jobs').selectAll().where('org_id', '=', org).where('id', '=', id)));
  }

  async countActiveJobs(org: string, connectorId: string): Promise<number> {
    return this.countActive(org, 'connector_id', connectorId);
  }

  /** Jobs of an organization that are queued or running, by connector or by index. */
  private async countActive(org: string, column: 'connector_id' | 'index_name', value: string): Promise<number> {
    const r = await this.exec('auto', () =>
      one(
        this.qb
          .selectFrom('jobs')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('org_id', '=', org)
          .where(column, '=', value)
          .where('status', 'in', ACTIVE_JOB),
      ),
    );
    return Number(r?.n ?? 0);
  }

  async jobProgress(jobId: string): Promise<JobProgress> {
    const rows = await this.exec('auto', () =>
      all(
        this.qb
          .selectFrom('job_files')
          .select((eb) => ['status', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('size').as('bytes')])
          .where('job_id', '=', jobId)
          .groupBy('status'),
      ),
    );
    const p = emptyProgress();
    for (const r of rows) addProgress(p, r.status as FileState, Number(r.n), Number(r.bytes ?? 0));
    return p;
  }

  async listJobFiles(jobId: string, opts: { status?: FileState; afterId?: number; limit: number }): Promise<JobFileRow[]> {
    let q = this.qb.selectFrom('job_files').selectAll().where('job_id', '=', jobId);
    if (opts.status) q = q.where('status', '=', opts.status);
    if (opts.afterId) q = q.where('id', '>', opts.afterId);
    return this.exec('auto', () => all(q.orderBy('id').limit(opts.limit)));
  }

  async appendListing(jobId: string, owner: string, files: ListedFile[], state: string | null, complete: boolean, leaseMs: number): Promise<boolean> {
    return this.exec('tx', () => this.appendListingTx(jobId, owner, files, state, complete, leaseMs));
  }

  private *appendListingTx(jobId: string, owner: string, files: ListedFile[], state: string | null, complete: boolean, leaseMs: number): Tx<boolean> {
    let q = this.qb.selectFrom('jobs').select(['lease_owner', 'status', 'org_id']).where('id', '=', jobId);
    if (this.pg) q = q.forUpdate(); // a concurrent cancel or takeover waits for this page
    const job = yield* one(q);
    if (!job || job.lease_owner !== owner || !ACTIVE_JOB.includes(job.status as never)) return false;
    yield* this.insertFiles(job.org_id, jobId, files);
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
          .set({ error: error.slice(0, 1000), listing_complete: 1, lease_owner: null, lease_expires: 0 })
          .where('id', '=', jobId)
          .where('lease_owner', '=', owner),
      ),
    );
  }

  async claimFiles(owner: string, limit: number, leaseMs: number, now: string, opts?: ClaimOptions): Promise<ClaimedFile[]> {
    if (limit <= 0) return [];
    return this.exec('tx', () =>
      this.claimFilesTx(owner, limit, leaseMs, now, opts?.excludeConnectors ?? [], Math.max(1, opts?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS), opts?.backoffMs ?? DEFAULT_BACKOFF_MS),
    );
  }

  /**
   * Each claim counts an attempt (a worker that dies holding a file cannot count it later). A file whose
   * previous lease ran out (its worker died or stalled) records that as its last error and, from its
   * second such attempt on, waits a backoff that doubles with each attempt before it is claimed again;
   * a file with maxAttempts behind it fails here, in the claim, with its last error.
   */
  private *claimFilesTx(owner: string, limit: number, leaseMs: number, now: string, exclude: string[], maxAttempts: number, backoffMs: number): Tx<ClaimedFile[]> {
    const t = this.clock();
    let q = this.qb
      .selectFrom('job_files as f')
      .innerJoin('jobs as j', 'j.id', 'f.job_id')
      .select(['f.id', 'f.attempts', 'f.lease_owner', 'f.error'])
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
      if (r.attempts >= maxAttempts) yield* this.giveUp(r.id, r.attempts, lapsed ? LEASE_LAPSED : (r.error ?? 'no error was recorded'), now);
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
          attempts: eb('attempts', '+', 1),
          error: sql<string | null>`case when ${sql.ref('lease_owner')} is not null then ${LEASE_LAPSED} else ${sql.ref('error')} end`,
        }))
        .where('id', 'in', ids)
        .returningAll(),
    );
    files.sort((a, b) => a.id - b.id);
    const jobIds = [...new Set(files.map((f) => f.job_id))];
    const jobs = yield* all(this.qb.selectFrom('jobs').select(['id', 'org_id', 'connector_id', 'index_name', 'params', 'status', 'kind']).where('id', 'in', jobIds));
    yield* run(this.qb.updateTable('jobs').set({ status: 'running', started_at: now }).where('id', 'in', jobIds).where('status', '=', 'queued'));
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

  async releaseLeases(owner: string): Promise<void> {
    await this.exec('tx', () => this.releaseLeasesTx(owner));
  }

  private *releaseLeasesTx(owner: string): Tx<void> {
    // Work handed back on a clean stop was not tried to its end: its claim does not count as an attempt.
    yield* run(
      this.qb
        .updateTable('job_files')
        .set({ lease_owner: null, lease_expires: 0, attempts: sql<number>`case when ${sql.ref('attempts')} > 0 then ${sql.ref('attempts')} - 1 else 0 end` })
        .where('lease_owner', '=', owner)
        .where('status', '=', 'pending'),
    );
    yield* run(this.qb.updateTable('jobs').set({ lease_owner: null, lease_expires: 0 }).where('lease_owner', '=', owner));
  }

  async commitFile(c: CommitFile): Promise<{ status: 'ready' | 'deduped'; duplicate_of: string | null } | null> {
    const r = await this.exec('tx', () => this.commitFileTx(c));
    if (r instanceof Error) throw r;
    return r;
  }

  async commitFiles(cs: CommitFile[], place?: (c: CommitFile) => void): Promise<({ status: 'ready' | 'deduped'; duplicate_of: string | null } | null | Error)[]> {
    if (place && this.pg) throw new Error('commitFiles: place runs inside a synchronous (SQLite) transaction only');
    const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));
    const one = (c: CommitFile) => this.exec('tx', () => this.commitFileTx(c, place)).catch(asError);
    if (this.pg || cs.length < 2) return Promise.all(cs.map(one));
    try {
      return await this.exec(
        'tx',
        function* (this: KyselyStore) {
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
    const f = yield* one(
      this.prep(
        'commit.file',
        (id) => {
          const q = this.qb.selectFrom('job_files').select(['status', 'lease_owner']).where('id', '=', id);
          return this.pg ? q.forUpdate() : q; // a concurrent cancel or takeover waits for this commit
        },
        [c.fileId],
      ),
    );
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
      yield* run(
        this.prep(
          'commit.index',
          (org, index, now) =>
            this.qb
              .insertInto('indexes')
              .values({ org_id: org, name: index, created_at: now, updated_at: now })
              .onConflict((oc) => oc.columns(['org_id', 'name']).doUpdateSet({ updated_at: now })),
          [c.orgId, c.index, c.now],
        ),
      );
    }
    const existing = yield* one(
      this.prep('commit.existing', (org, index, key) => this.qb.selectFrom('items').select(['sha256', 'duplicate_of']).where('org_id', '=', org).where('index_name', '=', index).where('key', '=', key), [
        c.orgId,
        c.index,
        c.key,
      ]),
    );
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
        const twin = yield* one(
          this.prep(
            'commit.twin',
            (org, index, sha) =>
              this.qb.selectFrom('items').select('key').where('org_id', '=', org).where('index_name', '=', index).where('sha256', '=', sha).where('duplicate_of', 'is', null).orderBy('key').limit(1),
            [c.orgId, c.index, c.sha256],
          ),
        );
        if (twin) {
          status = 'deduped';
          duplicateOf = twin.key;
        }
      }
      // Every key gets its item: a duplicate shares the blob of the key it names (dedupe saves bytes, not keys).
      yield* run(
        this.prep(
          'commit.item',
          (org_id, index_name, key, connector_id, size, sha256, content_type, etag, imported_at, duplicate_of) => {
            const item = { org_id, index_name, key, connector_id, size, sha256, content_type, etag, imported_at, duplicate_of };
            return this.qb
              .insertInto('items')
              .values(item)
              .onConflict((oc) => oc.columns(['org_id', 'index_name', 'key']).doUpdateSet({ ...item }));
          },
          [c.orgId, c.index, c.key, c.connectorId, c.size, c.sha256, c.contentType, c.etag, c.now, duplicateOf],
        ),
      );
    }
    yield* run(
      this.prep(
        'commit.done',
        (status, duplicate_of, sha256, size, etag, version, id) =>
          this.qb
            .updateTable('job_files')
            .set({ status, duplicate_of, sha256, size, etag, version, error: null, lease_owner: null, lease_expires: 0 })
            .where('id', '=', id),
        [status, duplicateOf, c.sha256, c.size, c.etag, c.version, c.fileId],
      ),
    );
    yield* run(
      this.prep(
        'commit.seen',
        (org_id, connector_id, index_name, key, version, updated_at) =>
          this.qb
            .insertInto('import_seen')
            .values({ org_id, connector_id, index_name, key, version, updated_at })
            .onConflict((oc) => oc.columns(['org_id', 'connector_id', 'index_name', 'key']).doUpdateSet({ version, updated_at })),
        [c.orgId, c.connectorId, c.index, c.key, c.version, c.now],
      ),
    );
    return { status, duplicate_of: duplicateOf };
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

  async completeFile(fileId: number, owner: string, o: { status: 'ready' | 'skipped'; sha256: string | null; size: number | null }): Promise<boolean> {
    const set = { status: o.status, sha256: o.sha256, size: o.size, error: null, lease_owner: null, lease_expires: 0 };
    return (await this.exec('auto', () => run(this.qb.updateTable('job_files').set(set).where('id', '=', fileId).where('lease_owner', '=', owner).where('status', '=', 'pending')))) > 0;
  }

  async cancelJob(org: string, id: string, now: string): Promise<JobRow | null> {
    return this.exec('tx', () => this.cancelJobTx(org, id, now));
  }

  private *cancelJobTx(org: string, id: string, now: string): Tx<JobRow | null> {
    let q = this.qb.selectFrom('jobs').selectAll().where('org_id', '=', org).where('id', '=', id);
    if (this.pg) q = q.forUpdate();
    const job = yield* one(q);
    if (!job || !ACTIVE_JOB.includes(job.status as never)) return job;
    yield* run(this.qb.updateTable('jobs').set({ status: 'canceled', finished_at: now, lease_owner: null, lease_expires: 0, listing_complete: 1 }).where('id', '=', id));
    yield* run(this.qb.updateTable('job_files').set({ status: 'canceled', lease_owner: null, lease_expires: 0 }).where('job_id', '=', id).where('status', '=', 'pending'));
    return { ...job, status: 'canceled', finished_at: now };
  }

  async finalizeJobs(now: string): Promise<JobRow[]> {
    return this.exec('tx', () => this.finalizeJobsTx(now));
  }

  private *finalizeJobsTx(now: string): Tx<JobRow[]> {
    let q = this.qb
      .selectFrom('jobs')
      .selectAll()
      .where('status', 'in', ACTIVE_JOB)
      .where('listing_complete', '=', 1)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('job_files').select(sql`1`.as('x')).whereRef('job_files.job_id', '=', 'jobs.id').where('job_files.status', '=', 'pending'))),
      );
    // Each job is finalized by exactly one process: a job another finalizer holds is skipped, and one
    // it has finalized no longer matches (the row is re-checked once its lock is released).
    if (this.pg) q = q.forUpdate().skipLocked();
    const done = yield* all(q);
    const out: JobRow[] = [];
    for (const job of done) {
      const rows = yield* all(
        this.qb
          .selectFrom('job_files')
          .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
          .where('job_id', '=', job.id)
          .groupBy('status'),
      );
      const n = (s: string) => Number(rows.find((r) => r.status === s)?.n ?? 0);
      const ok = n('ready') + n('deduped') + n('skipped');
      const failed = n('failed');
      const status = job.error ? 'failed' : failed > 0 && ok === 0 ? 'failed' : failed > 0 ? 'completed_with_errors' : 'completed';
      const error = job.error ?? (status === 'failed' ? `all ${failed} files failed` : null);
      yield* run(
        this.qb
          .updateTable('jobs')
          .set({ status, finished_at: now, error, started_at: job.started_at ?? now, lease_owner: null, lease_expires: 0 })
          .where('id', '=', job.id),
      );
      out.push({ ...job, status, finished_at: now, error });
    }
    return out;
  }

  async startJobs(now: string): Promise<void> {
    await this.exec('auto', () => run(this.qb.updateTable('jobs').set({ status: 'running', started_at: now }).where('status', '=', 'queued')));
  }

  async seenVersions(org: string, connectorId: string, index: string, keys: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < keys.length; i += 500) {
      const part = keys.slice(i, i + 500);
      const rows = await this.exec('auto', () =>
        all(
          this.prep(
            `seen.${part.length}`,
            (o: string, c: string, x: string, ...ks: string[]) =>
              this.qb.selectFrom('import_seen').select(['key', 'version']).where('org_id', '=', o).where('connector_id', '=', c).where('index_name', '=', x).where('key', 'in', ks),
            [org, connectorId, index, ...part],
          ),
        ),
      );
      for (const r of rows) out.set(r.key, r.version);
    }
    return out;
  }

  async addLog(e: { org_id: string; job_id: string; connector_id: string; level: string; key?: string | null; message: string; time: string }): Promise<void> {
    await this.exec('auto', () => run(this.qb.insertInto('job_logs').values({ ...e, key: e.key ?? null, message: e.message.slice(0, 2000) })));
  }

  async listLogs(org: string, opts: { jobId?: string; connectorId?: string; afterId?: number; limit: number }): Promise<LogEntry[]> {
    let q = this.qb.selectFrom('job_logs').select(['id', 'time', 'level', 'job_id', 'key', 'message']).where('org_id', '=', org);
    if (opts.jobId) q = q.where('job_id', '=', opts.jobId);
    if (opts.connectorId) q = q.where('connector_id', '=', opts.connectorId);
    if (opts.afterId) q = q.where('id', '>', opts.afterId);
    return this.exec('auto', () => all(q.orderBy('id').limit(opts.limit)));
  }

  async findJobByIdempotencyKey(org: string, key: string): Promise<JobRow | null> {
    return this.exec('auto', () => one(this.qb.selectFrom('jobs').selectAll().where('org_id', '=', org).where('idempotency_key', '=', key)));
  }

  async listJobs(org: string, opts: { connectorId?: string; index?: string; status?: string; automationId?: string; kind?: string; before?: { createdAt: string; id: string }; limit: number }): Promise<JobRow[]> {
    let q = this.qb.selectFrom('jobs').selectAll().where('org_id', '=', org);
    if (opts.connectorId) q = q.where('connector_id', '=', opts.connectorId);
    if (opts.index) q = q.where('index_name', '=', opts.index);
    if (opts.status) q = q.where('status', '=', opts.status);
    if (opts.automationId) q = q.where('automation_id', '=', opts.automationId);
    if (opts.kind) q = q.where('kind', '=', opts.kind);
    // Newest first across kinds: ids sort by kind prefix first ("imp_" after "exp_"), so creation time leads and the id breaks ties.
    const before = opts.before;
    if (before) q = q.where((eb) => eb.or([eb('created_at', '<', before.createdAt), eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)])]));
    return this.exec('auto', () => all(q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit)));
  }

  async jobsProgress(jobIds: string[]): Promise<Map<string, JobProgress>> {
    const out = new Map<string, JobProgress>();
    for (const id of jobIds) out.set(id, emptyProgress());
    if (!jobIds.length) return out;
    const rows = await this.exec('auto', () =>
      all(
        this.qb
          .selectFrom('job_files')
          .select((eb) => ['job_id', 'status', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('size').as('bytes')])
          .where('job_id', 'in', jobIds)
          .groupBy(['job_id', 'status']),
      ),
    );
    for (const r of rows) addProgress(out.get(r.job_id)!, r.status as FileState, Number(r.n), Number(r.bytes ?? 0));
    return out;
  }

  async countActiveJobsForIndex(org: string, index: string): Promise<number> {
    return this.countActive(org, 'index_name', index);
  }

  async markHashed(fileId: number, owner: string, sha256: string): Promise<boolean> {
    return (await this.markHashedMany([{ fileId, sha256 }], owner))[0]!;
  }

  async markHashedMany(files: { fileId: number; sha256: string }[], owner: string): Promise<boolean[]> {
    // PostgreSQL: one transaction per file, so no transaction holds several files' row locks (no lock-order
    // deadlocks with a cancel); its blob lock makes GC wait instead, so it never answers 'wait'.
    if (this.pg) return Promise.all(files.map((f) => this.exec('tx', () => this.markHashedTx(f.fileId, owner, f.sha256)) as Promise<boolean>));
    for (;;) {
      const r = await this.exec('tx', function* (this: KyselyStore): Tx<boolean[] | 'wait'> {
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

  private *markHashedTx(fileId: number, owner: string, sha256: string): Tx<boolean | 'wait'> {
    const build = (sha: string, id: number, by: string) => this.qb.updateTable('job_files').set({ sha256: sha }).where('id', '=', id).where('lease_owner', '=', by).where('status', '=', 'pending');
    const update = () => this.prep('hashed', build, [sha256, fileId, owner]);
    if (this.pg) {
      yield* lock({ kind: 'blobs', mode: 'shared' });
      return (yield* run(update())) > 0;
    }
    // SQLite: one statement while no GC gate is set; only when it changes nothing, look at the gate.
    const gated = this.prep(
      'hashed.gated',
      (sha: string, id: number, by: string) =>
        build(sha, id, by).where(({ not, exists, selectFrom }) => not(exists(selectFrom('meta').select(sql`1`.as('x')).where('meta.key', '=', GC_GATE)))),
      [sha256, fileId, owner],
    );
    if ((yield* run(gated)) > 0) return true;
    const gate = yield* one(this.qb.selectFrom('meta').select('value').where('key', '=', GC_GATE));
    if (!gate) return false; // canceled or lease lost
    if (gateLive(gate.value)) return 'wait';
    yield* run(this.qb.deleteFrom('meta').where('key', '=', GC_GATE).where('value', '=', gate.value)); // its process died
    return (yield* run(update())) > 0;
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
    yield* lock({ kind: 'blobs', mode: 'exclusive' });
    const unused = yield* this.unusedBlobs(batch);
    const results = yield* wait(Promise.allSettled(unused.map(async (sha) => unlink(sha))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return unused.length;
  }

  private async gcBatchSqlite(batch: string[], unlink: (sha256: string) => void | Promise<void>): Promise<number> {
    const token = `${process.pid} ${randomBytes(6).toString('hex')} ${Date.now() + GC_GATE_MS}`;
    const pending: Promise<unknown>[] = [];
    const errors: unknown[] = [];
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
  }

  private *gcBatchSqliteTx(batch: string[], unlink: (sha256: string) => void | Promise<void>, token: string, pending: Promise<unknown>[], errors: unknown[]): Tx<number> {
    const unused = yield* this.unusedBlobs(batch);
    if (!unused.length) return 0;
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

  async pruneJobs(before: string): Promise<number> {
    return this.exec('tx', () => this.pruneJobsTx(before));
  }

  private *pruneJobsTx(before: string): Tx<number> {
    const ids = (yield* all(this.qb.selectFrom('jobs').select('id').where('status', 'not in', ACTIVE_JOB).where('finished_at', '<', before))).map((r) => r.id);
    for (let i = 0; i < ids.length; i += 200) {
      const batch = ids.slice(i, i + 200);
      yield* run(this.qb.deleteFrom('job_files').where('job_id', 'in', batch));
      yield* run(this.qb.deleteFrom('job_logs').where('job_id', 'in', batch));
      yield* run(this.qb.deleteFrom('jobs').where('id', 'in', batch));
    }
    return ids.length;
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

  async blobReferenced(sha256: string): Promise<boolean> {
    return !!(await this.exec('auto', () => one(this.qb.selectFrom('items').select('key').where('sha256', '=', sha256).limit(1))));
  }

  async ensureOrg(name: string, id: string, now: string): Promise<{ id: string; name: string }> {
    return this.exec('tx', () => this.ensureOrgTx(name, id, now));
  }

  private *ensureOrgTx(name: string, id: string, now: string): Tx<{ id: string; name: string }> {
    yield* run(this.qb.insertInto('orgs').values({ id, name, created_at: now }).onConflict((oc) => oc.column('name').doNothing()));
    return (yield* one(this.qb.selectFrom('orgs').select(['id', 'name']).where('name', '=', name)))!;
  }

  async insertApiKey(row: Insertable<DB['api_keys']>): Promise<void> {
    await this.exec('auto', () => run(this.qb.insertInto('api_keys').values(row)));
  }

  private keysQuery() {
    return this.qb.selectFrom('api_keys as k').innerJoin('orgs as o', 'o.id', 'k.org_id').selectAll('k').select('o.name as org_name');
  }

  async findApiKey(hash: string): Promise<ApiKeyRow | null> {
    return this.exec('auto', () => one(this.keysQuery().where('k.hash', '=', hash)));
  }

  async listApiKeys(): Promise<ApiKeyRow[]> {
    return this.exec('auto', () => all(this.keysQuery().orderBy('k.created_at')));
  }

  async revokeApiKey(id: string, now: string): Promise<boolean> {
    return (await this.exec('auto', () => run(this.qb.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null)))) > 0;
  }

  // Automations (schedules that start imports).

  async insertAutomation(row: NewAutomation): Promise<void> {
    await this.exec('auto', () => run(this.qb.insertInto('automations').values(row)));
  }

  async getAutomation(org: string, id: string): Promise<AutomationRow | null> {
    return this.exec('auto', () => one(this.qb.selectFrom('automations').selectAll().where('org_id', '=', org).where('id', '=', id)));
  }

  async findAutomationByName(org: string, name: string): Promise<AutomationRow | null> {
    return this.exec('auto', () => one(this.qb.selectFrom('automations').selectAll().where('org_id', '=', org).where('name', '=', name)));
  }

  async listAutomations(org: string, opts: { connectorId?: string; after?: string; limit: number }): Promise<AutomationRow[]> {
    let q = this.qb.selectFrom('automations').selectAll().where('org_id', '=', org);
    if (opts.connectorId) q = q.where('connector_id', '=', opts.connectorId);
    if (opts.after) q = q.where('id', '>', opts.after);
    return this.exec('auto', () => all(q.orderBy('id').limit(opts.limit)));
  }

  async updateAutomation(org: string, id: string, patch: Partial<NewAutomation>): Promise<AutomationRow | null> {
    return this.exec('tx', () => this.updateAutomationTx(org, id, patch));
  }

  private *updateAutomationTx(org: string, id: string, patch: Partial<NewAutomation>): Tx<AutomationRow | null> {
    yield* run(this.qb.updateTable('automations').set(patch).where('org_id', '=', org).where('id', '=', id));
    return yield* one(this.qb.selectFrom('automations').selectAll().where('org_id', '=', org).where('id', '=', id));
  }

  async deleteAutomation(org: string, id: string): Promise<boolean> {
    return (await this.exec('auto', () => run(this.qb.deleteFrom('automations').where('org_id', '=', org).where('id', '=', id)))) > 0;
  }

  async deleteConnectorAutomations(org: string, connectorId: string): Promise<number> {
    return this.exec('auto', () => run(this.qb.deleteFrom('automations').where('org_id', '=', org).where('connector_id', '=', connectorId)));
  }

  async nextAutomationRun(): Promise<number | null> {
    const r = await this.exec('auto', () => one(this.qb.selectFrom('automations').select((eb) => eb.fn.min<number>('next_run_at').as('t')).where('enabled', '=', 1)));
    return r?.t === null || r?.t === undefined ? null : Number(r.t);
  }

  async dueAutomations(now: number, limit: number): Promise<AutomationRow[]> {
    return this.exec('auto', () =>
      all(this.qb.selectFrom('automations').selectAll().where('enabled', '=', 1).where('next_run_at', '<=', now).orderBy('next_run_at').limit(limit)),
    );
  }

  /** One UPDATE … WHERE next_run_at = expected: on PostgreSQL a concurrent second UPDATE re-checks the row after the first commits, so exactly one wins. */
  async casAutomation(id: string, expected: number, patch: Partial<NewAutomation>): Promise<boolean> {
    return (await this.exec('auto', () => run(this.qb.updateTable('automations').set(patch).where('id', '=', id).where('next_run_at', '=', expected)))) > 0;
  }

  async pruneIdleAutomationRuns(org: string, automationId: string, keepJobId: string): Promise<number> {
    return this.exec('tx', () => this.pruneIdleAutomationRunsTx(org, automationId, keepJobId));
  }

  async compactAutomationRuns(org: string, automationId: string, keepJobId: string): Promise<number> {
    return this.exec('tx', () => this.compactAutomationRunsTx(org, automationId, keepJobId));
  }

  private *compactAutomationRunsTx(org: string, automationId: string, keepJobId: string): Tx<number> {
    const jobs = yield* all(
      this.qb
        .selectFrom('jobs')
        .select(['id', 'listing_state'])
        .where('org_id', '=', org)
        .where('automation_id', '=', automationId)
        .where('status', 'not in', ACTIVE_JOB)
        .where('id', '!=', keepJobId)
        .where(({ exists, selectFrom }) => exists(selectFrom('job_files').select(sql`1`.as('x')).whereRef('job_files.job_id', '=', 'jobs.id').where('job_files.status', '=', 'skipped')))
        .limit(50),
    );
    for (const j of jobs) {
      const n = yield* run(this.qb.deleteFrom('job_files').where('job_id', '=', j.id).where('status', '=', 'skipped'));
      let state: Record<string, unknown> = {};
      try {
        state = (JSON.parse(j.listing_state ?? '{}') as Record<string, unknown>) ?? {};
      } catch {
        state = {};
      }
      yield* run(this.qb.updateTable('jobs').set({ listing_state: JSON.stringify({ ...state, compacted: Number(state.compacted ?? 0) + n }) }).where('id', '=', j.id));
    }
    return jobs.length;
  }

  private *pruneIdleAutomationRunsTx(org: string, automationId: string, keepJobId: string): Tx<number> {
    const ids = (
      yield* all(
        this.qb
          .selectFrom('jobs')
          .select('id')
          .where('org_id', '=', org)
          .where('automation_id', '=', automationId)
          .where('status', '=', 'completed')
          .where('id', '!=', keepJobId)
          .where(({ not, exists, selectFrom }) =>
            not(exists(selectFrom('job_files').select(sql`1`.as('x')).whereRef('job_files.job_id', '=', 'jobs.id').where('job_files.status', '!=', 'skipped'))),
          )
          .limit(1000),
      )
    ).map((r) => r.id);
    for (let i = 0; i < ids.length; i += 200) {
      const batch = ids.slice(i, i + 200);
      yield* run(this.qb.deleteFrom('job_files').where('job_id', 'in', batch));
      yield* run(this.qb.deleteFrom('job_logs').where('job_id', 'in', batch));
      yield* run(this.qb.deleteFrom('jobs').where('id', 'in', batch));
    }
    return ids.length;
  }

  abstract close(): Promise<void>;
}
