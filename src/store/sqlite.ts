import Database from 'better-sqlite3';
import {
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  DummyDriver,
  sql,
  type Compilable,
} from 'kysely';
import type { DB } from './schema.js';
import { MIGRATIONS } from './migrations.js';
import type { Insertable } from 'kysely';
import type {
  ApiKeyRow,
  AutomationRow,
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

const ACTIVE_JOB = ['queued', 'running'] as const;

/** Adds one (status, count, bytes) group to a job's progress. Bytes count for files that are or will be stored. */
function addProgress(p: JobProgress, status: FileState, n: number, bytes: number): void {
  p.counts[status] = n;
  if (status === 'ready' || status === 'deduped') p.bytes_done += bytes;
  if (status === 'ready' || status === 'deduped' || status === 'pending') p.bytes_total += bytes;
}

/**
 * The embedded store: SQLite through better-sqlite3. Kysely builds the SQL (shared with other
 * dialects); statements run synchronously inside `BEGIN IMMEDIATE` transactions, so several
 * processes on one data dir serialize their writes and never claim the same file twice.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly qb: Kysely<DB>;
  private readonly cache = new Map<string, Database.Statement>();

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('synchronous = NORMAL');
    this.qb = new Kysely<DB>({
      dialect: {
        createAdapter: () => new SqliteAdapter(),
        createDriver: () => new DummyDriver(),
        createIntrospector: (db) => new SqliteIntrospector(db),
        createQueryCompiler: () => new SqliteQueryCompiler(),
      },
    });
    this.migrate();
  }

  private stmt(sqlText: string): Database.Statement {
    let s = this.cache.get(sqlText);
    if (!s) {
      s = this.db.prepare(sqlText);
      this.cache.set(sqlText, s);
    }
    return s;
  }

  private params(parameters: readonly unknown[]): unknown[] {
    return parameters.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p === undefined ? null : p));
  }

  private all<T>(q: Compilable<T>): T[] {
    const c = q.compile();
    const s = this.stmt(c.sql);
    const params = this.params(c.parameters);
    return (s.reader ? s.all(...params) : (s.run(...params), [])) as T[];
  }

  private one<T>(q: Compilable<T>): T | null {
    return this.all(q)[0] ?? null;
  }

  private run(q: Compilable): number {
    const c = q.compile();
    return this.stmt(c.sql).run(...this.params(c.parameters)).changes;
  }

  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    this.tx(() => {
      const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
      const current = row.v ?? 0;
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        for (const q of m.up(this.qb)) this.db.exec(q.compile().sql);
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
      }
    });
  }

  async getMeta(key: string): Promise<string | null> {
    return this.one(this.qb.selectFrom('meta').select('value').where('key', '=', key))?.value ?? null;
  }

  async setMetaOnce(key: string, value: string): Promise<string> {
    return this.tx(() => {
      this.run(this.qb.insertInto('meta').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()));
      return this.one(this.qb.selectFrom('meta').select('value').where('key', '=', key))!.value;
    });
  }

  async countConnectors(): Promise<number> {
    return Number(this.one(this.qb.selectFrom('connectors').select((eb) => eb.fn.countAll<number>().as('n')))?.n ?? 0);
  }

  async insertConnector(row: NewConnector): Promise<void> {
    this.run(this.qb.insertInto('connectors').values(row));
  }

  async getConnector(org: string, id: string): Promise<ConnectorRow | null> {
    return this.one(this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org).where('id', '=', id));
  }

  async findConnectorByName(org: string, name: string): Promise<ConnectorRow | null> {
    return this.one(this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org).where('name', '=', name));
  }

  async listConnectors(org: string, opts: { status?: string; after?: string; limit: number }): Promise<Page<ConnectorRow>> {
    let q = this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org);
    if (opts.status) q = q.where('status', '=', opts.status);
    if (opts.after) q = q.where('id', '>', opts.after);
    const rows = this.all(q.orderBy('id').limit(opts.limit + 1));
    const more = rows.length > opts.limit;
    if (more) rows.pop();
    return { rows, next: more ? rows[rows.length - 1]!.id : null };
  }

  async updateConnector(org: string, id: string, patch: Partial<NewConnector>): Promise<ConnectorRow | null> {
    return this.tx(() => {
      this.run(this.qb.updateTable('connectors').set(patch).where('org_id', '=', org).where('id', '=', id));
      return this.one(this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org).where('id', '=', id));
    });
  }

  async deleteConnector(org: string, id: string): Promise<boolean> {
    return this.tx(() => {
      const n = this.run(this.qb.deleteFrom('connectors').where('org_id', '=', org).where('id', '=', id));
      this.run(this.qb.deleteFrom('import_seen').where('org_id', '=', org).where('connector_id', '=', id));
      return n > 0;
    });
  }

  async recordHealth(org: string, id: string, o: HealthOutcome): Promise<ConnectorRow | null> {
    return this.tx(() => {
      const c = this.one(this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org).where('id', '=', id));
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
      this.run(this.qb.updateTable('connectors').set(patch).where('id', '=', id));
      return { ...c, ...patch } as ConnectorRow;
    });
  }

  private insertFiles(org: string, jobId: string, files: ListedFile[]): void {
    for (let i = 0; i < files.length; i += 200) {
      const chunk = files.slice(i, i + 200).map((f) => ({
        org_id: org,
        job_id: jobId,
        key: f.key,
        size: f.size,
        etag: f.etag,
        version: f.version,
        status: f.status ?? 'pending',
        error: f.error ?? null,
        attempts: 0,
        lease_expires: 0,
      }));
      if (chunk.length) this.run(this.qb.insertInto('job_files').values(chunk).onConflict((oc) => oc.columns(['job_id', 'key']).doNothing()));
    }
  }

  async createJob(job: NewJob, files: ListedFile[]): Promise<void> {
    this.tx(() => {
      this.run(this.qb.insertInto('jobs').values(job));
      this.insertFiles(job.org_id, job.id, files);
    });
  }

  async getJob(org: string, id: string): Promise<JobRow | null> {
    return this.one(this.qb.selectFrom('jobs').selectAll().where('org_id', '=', org).where('id', '=', id));
  }

  async countActiveJobs(org: string, connectorId: string): Promise<number> {
    const r = this.one(
      this.qb
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', org)
        .where('connector_id', '=', connectorId)
        .where('status', 'in', ACTIVE_JOB),
    );
    return Number(r?.n ?? 0);
  }

  async jobProgress(jobId: string): Promise<JobProgress> {
    const rows = this.all(
      this.qb
        .selectFrom('job_files')
        .select((eb) => ['status', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('size').as('bytes')])
        .where('job_id', '=', jobId)
        .groupBy('status'),
    );
    const p: JobProgress = { counts: { pending: 0, ready: 0, deduped: 0, skipped: 0, failed: 0, canceled: 0 }, bytes_done: 0, bytes_total: 0 };
    for (const r of rows) addProgress(p, r.status as FileState, Number(r.n), Number(r.bytes ?? 0));
    return p;
  }

  async listJobFiles(jobId: string, opts: { status?: FileState; afterId?: number; limit: number }): Promise<JobFileRow[]> {
    let q = this.qb.selectFrom('job_files').selectAll().where('job_id', '=', jobId);
    if (opts.status) q = q.where('status', '=', opts.status);
    if (opts.afterId) q = q.where('id', '>', opts.afterId);
    return this.all(q.orderBy('id').limit(opts.limit));
  }

  async appendListing(jobId: string, owner: string, files: ListedFile[], state: string | null, complete: boolean, leaseMs: number): Promise<boolean> {
    return this.tx(() => {
      const job = this.one(this.qb.selectFrom('jobs').select(['lease_owner', 'status', 'org_id']).where('id', '=', jobId));
      if (!job || job.lease_owner !== owner || !ACTIVE_JOB.includes(job.status as never)) return false;
      this.insertFiles(job.org_id, jobId, files);
      this.run(
        this.qb
          .updateTable('jobs')
          .set({ listing_state: state, listing_complete: complete ? 1 : 0, lease_expires: complete ? 0 : Date.now() + leaseMs, lease_owner: complete ? null : owner })
          .where('id', '=', jobId),
      );
      return true;
    });
  }

  async claimListing(owner: string, leaseMs: number): Promise<JobRow | null> {
    const now = Date.now();
    return this.tx(() => {
      const job = this.one(
        this.qb
          .selectFrom('jobs')
          .selectAll()
          .where('listing_complete', '=', 0)
          .where('status', 'in', ACTIVE_JOB)
          .where('lease_expires', '<', now)
          .orderBy('created_at')
          .limit(1),
      );
      if (!job) return null;
      const started = job.started_at ?? new Date(now).toISOString();
      this.run(this.qb.updateTable('jobs').set({ lease_owner: owner, lease_expires: now + leaseMs, status: 'running', started_at: started }).where('id', '=', job.id));
      return { ...job, lease_owner: owner, lease_expires: now + leaseMs, status: 'running', started_at: started };
    });
  }

  async failListing(jobId: string, owner: string, error: string, now: string): Promise<void> {
    this.run(
      this.qb
        .updateTable('jobs')
        .set({ error: error.slice(0, 1000), listing_complete: 1, lease_owner: null, lease_expires: 0 })
        .where('id', '=', jobId)
        .where('lease_owner', '=', owner),
    );
    void now;
  }

  async claimFiles(owner: string, limit: number, leaseMs: number, now: string, opts?: { excludeConnectors?: string[] }): Promise<ClaimedFile[]> {
    if (limit <= 0) return [];
    const t = Date.now();
    const exclude = opts?.excludeConnectors ?? [];
    return this.tx(() => {
      let q = this.qb
        .selectFrom('job_files as f')
        .innerJoin('jobs as j', 'j.id', 'f.job_id')
        .select('f.id')
        .where('f.status', '=', 'pending')
        .where('f.lease_expires', '<', t)
        .where('j.status', 'in', ACTIVE_JOB);
      if (exclude.length) q = q.where('j.connector_id', 'not in', exclude);
      const ids = this.all(q.orderBy('f.id').limit(limit)).map((r) => r.id);
      if (!ids.length) return [];
      const files = this.all(
        this.qb
          .updateTable('job_files')
          .set((eb) => ({ lease_owner: owner, lease_expires: t + leaseMs, attempts: eb('attempts', '+', 1) }))
          .where('id', 'in', ids)
          .returningAll(),
      );
      const jobIds = [...new Set(files.map((f) => f.job_id))];
      const jobs = this.all(this.qb.selectFrom('jobs').select(['id', 'org_id', 'connector_id', 'index_name', 'params', 'status', 'kind']).where('id', 'in', jobIds));
      this.run(this.qb.updateTable('jobs').set({ status: 'running', started_at: now }).where('id', 'in', jobIds).where('status', '=', 'queued'));
      const byId = new Map(jobs.map((j) => [j.id, j]));
      return files.map((f) => {
        const j = byId.get(f.job_id)!;
        return { ...f, connector_id: j.connector_id, index_name: j.index_name, params: j.params, kind: j.kind };
      });
    });
  }

  async heartbeat(owner: string, fileIds: number[], jobIds: string[], leaseMs: number): Promise<{ lostFiles: number[] }> {
    const until = Date.now() + leaseMs;
    return this.tx(() => {
      let lost: number[] = [];
      if (fileIds.length) {
        this.run(
          this.qb.updateTable('job_files').set({ lease_expires: until }).where('id', 'in', fileIds).where('lease_owner', '=', owner).where('status', '=', 'pending'),
        );
        const held = new Set(
          this.all(this.qb.selectFrom('job_files').select('id').where('id', 'in', fileIds).where('lease_owner', '=', owner).where('status', '=', 'pending')).map(
            (r) => r.id,
          ),
        );
        lost = fileIds.filter((id) => !held.has(id));
      }
      if (jobIds.length) {
        this.run(this.qb.updateTable('jobs').set({ lease_expires: until }).where('id', 'in', jobIds).where('lease_owner', '=', owner));
      }
      return { lostFiles: lost };
    });
  }

  async releaseLeases(owner: string): Promise<void> {
    this.tx(() => {
      this.run(this.qb.updateTable('job_files').set({ lease_owner: null, lease_expires: 0 }).where('lease_owner', '=', owner).where('status', '=', 'pending'));
      this.run(this.qb.updateTable('jobs').set({ lease_owner: null, lease_expires: 0 }).where('lease_owner', '=', owner));
    });
  }

  async commitFile(c: CommitFile): Promise<{ status: 'ready' | 'deduped'; duplicate_of: string | null } | null> {
    return this.tx(() => {
      const f = this.one(this.qb.selectFrom('job_files').select(['status', 'lease_owner']).where('id', '=', c.fileId));
      if (!f || f.status !== 'pending' || f.lease_owner !== c.owner) return null;
      this.run(
        this.qb
          .insertInto('indexes')
          .values({ org_id: c.orgId, name: c.index, created_at: c.now, updated_at: c.now })
          .onConflict((oc) => oc.columns(['org_id', 'name']).doUpdateSet({ updated_at: c.now })),
      );
      const existing = this.one(this.qb.selectFrom('items').select(['sha256']).where('org_id', '=', c.orgId).where('index_name', '=', c.index).where('key', '=', c.key));
      let status: 'ready' | 'deduped' = 'ready';
      let duplicateOf: string | null = null;
      if (existing && existing.sha256 === c.sha256) {
        // Same key, same content: already in the index.
        status = 'deduped';
        duplicateOf = c.key;
      } else if (!existing && c.dedupe) {
        const twin = this.one(
          this.qb.selectFrom('items').select('key').where('org_id', '=', c.orgId).where('index_name', '=', c.index).where('sha256', '=', c.sha256).orderBy('key').limit(1),
        );
        if (twin) {
          status = 'deduped';
          duplicateOf = twin.key;
        }
      }
      if (status === 'ready') {
        const item = {
          org_id: c.orgId,
          index_name: c.index,
          key: c.key,
          connector_id: c.connectorId,
          size: c.size,
          sha256: c.sha256,
          content_type: c.contentType,
          etag: c.etag,
          imported_at: c.now,
        };
        this.run(
          this.qb
            .insertInto('items')
            .values(item)
            .onConflict((oc) => oc.columns(['org_id', 'index_name', 'key']).doUpdateSet({ ...item })),
        );
      }
      this.run(
        this.qb
          .updateTable('job_files')
          .set({ status, duplicate_of: duplicateOf, sha256: c.sha256, size: c.size, etag: c.etag, version: c.version, error: null, lease_owner: null, lease_expires: 0 })
          .where('id', '=', c.fileId),
      );
      this.run(
        this.qb
          .insertInto('import_seen')
          .values({ org_id: c.orgId, connector_id: c.connectorId, index_name: c.index, key: c.key, version: c.version, updated_at: c.now })
          .onConflict((oc) => oc.columns(['org_id', 'connector_id', 'index_name', 'key']).doUpdateSet({ version: c.version, updated_at: c.now })),
      );
      return { status, duplicate_of: duplicateOf };
    });
  }

  async completeFile(fileId: number, owner: string, o: { status: 'ready' | 'skipped'; sha256: string | null; size: number | null }): Promise<boolean> {
    const set = { status: o.status, sha256: o.sha256, size: o.size, error: null, lease_owner: null, lease_expires: 0 };
    return this.run(this.qb.updateTable('job_files').set(set).where('id', '=', fileId).where('lease_owner', '=', owner).where('status', '=', 'pending')) > 0;
  }

  async failFile(fileId: number, owner: string, error: string, retryAt: number | null): Promise<void> {
    const set =
      retryAt !== null
        ? { error: error.slice(0, 1000), lease_owner: null, lease_expires: retryAt }
        : { status: 'failed', error: error.slice(0, 1000), lease_owner: null, lease_expires: 0 };
    this.run(this.qb.updateTable('job_files').set(set).where('id', '=', fileId).where('lease_owner', '=', owner).where('status', '=', 'pending'));
  }

  async cancelJob(org: string, id: string, now: string): Promise<JobRow | null> {
    return this.tx(() => {
      const job = this.one(this.qb.selectFrom('jobs').selectAll().where('org_id', '=', org).where('id', '=', id));
      if (!job || !ACTIVE_JOB.includes(job.status as never)) return job;
      this.run(this.qb.updateTable('jobs').set({ status: 'canceled', finished_at: now, lease_owner: null, lease_expires: 0, listing_complete: 1 }).where('id', '=', id));
      this.run(
        this.qb.updateTable('job_files').set({ status: 'canceled', lease_owner: null, lease_expires: 0 }).where('job_id', '=', id).where('status', '=', 'pending'),
      );
      return { ...job, status: 'canceled', finished_at: now };
    });
  }

  async finalizeJobs(now: string): Promise<JobRow[]> {
    return this.tx(() => {
      const done = this.all(
        this.qb
          .selectFrom('jobs')
          .selectAll()
          .where('status', 'in', ACTIVE_JOB)
          .where('listing_complete', '=', 1)
          .where(({ not, exists, selectFrom }) =>
            not(exists(selectFrom('job_files').select(sql`1`.as('x')).whereRef('job_files.job_id', '=', 'jobs.id').where('job_files.status', '=', 'pending'))),
          ),
      );
      const out: JobRow[] = [];
      for (const job of done) {
        const rows = this.all(
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
        this.run(
          this.qb
            .updateTable('jobs')
            .set({ status, finished_at: now, error, started_at: job.started_at ?? now, lease_owner: null, lease_expires: 0 })
            .where('id', '=', job.id),
        );
        out.push({ ...job, status, finished_at: now, error });
      }
      return out;
    });
  }

  async startJobs(now: string): Promise<void> {
    this.run(this.qb.updateTable('jobs').set({ status: 'running', started_at: now }).where('status', '=', 'queued'));
  }

  async seenVersions(org: string, connectorId: string, index: string, keys: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < keys.length; i += 500) {
      const rows = this.all(
        this.qb
          .selectFrom('import_seen')
          .select(['key', 'version'])
          .where('org_id', '=', org)
          .where('connector_id', '=', connectorId)
          .where('index_name', '=', index)
          .where('key', 'in', keys.slice(i, i + 500)),
      );
      for (const r of rows) out.set(r.key, r.version);
    }
    return out;
  }

  async addLog(e: { org_id: string; job_id: string; connector_id: string; level: string; key?: string | null; message: string; time: string }): Promise<void> {
    this.run(this.qb.insertInto('job_logs').values({ ...e, key: e.key ?? null, message: e.message.slice(0, 2000) }));
  }

  async listLogs(org: string, opts: { jobId?: string; connectorId?: string; afterId?: number; limit: number }): Promise<LogEntry[]> {
    let q = this.qb.selectFrom('job_logs').select(['id', 'time', 'level', 'job_id', 'key', 'message']).where('org_id', '=', org);
    if (opts.jobId) q = q.where('job_id', '=', opts.jobId);
    if (opts.connectorId) q = q.where('connector_id', '=', opts.connectorId);
    if (opts.afterId) q = q.where('id', '>', opts.afterId);
    return this.all(q.orderBy('id').limit(opts.limit));
  }

  async findJobByIdempotencyKey(org: string, key: string): Promise<JobRow | null> {
    return this.one(this.qb.selectFrom('jobs').selectAll().where('org_id', '=', org).where('idempotency_key', '=', key));
  }

  async listJobs(org: string, opts: { connectorId?: string; index?: string; status?: string; automationId?: string; kind?: string; beforeId?: string; limit: number }): Promise<JobRow[]> {
    let q = this.qb.selectFrom('jobs').selectAll().where('org_id', '=', org);
    if (opts.connectorId) q = q.where('connector_id', '=', opts.connectorId);
    if (opts.index) q = q.where('index_name', '=', opts.index);
    if (opts.status) q = q.where('status', '=', opts.status);
    if (opts.automationId) q = q.where('automation_id', '=', opts.automationId);
    if (opts.kind) q = q.where('kind', '=', opts.kind);
    if (opts.beforeId) q = q.where('id', '<', opts.beforeId);
    return this.all(q.orderBy('id', 'desc').limit(opts.limit));
  }

  async jobsProgress(jobIds: string[]): Promise<Map<string, JobProgress>> {
    const out = new Map<string, JobProgress>();
    for (const id of jobIds) out.set(id, { counts: { pending: 0, ready: 0, deduped: 0, skipped: 0, failed: 0, canceled: 0 }, bytes_done: 0, bytes_total: 0 });
    if (!jobIds.length) return out;
    const rows = this.all(
      this.qb
        .selectFrom('job_files')
        .select((eb) => ['job_id', 'status', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('size').as('bytes')])
        .where('job_id', 'in', jobIds)
        .groupBy(['job_id', 'status']),
    );
    for (const r of rows) addProgress(out.get(r.job_id)!, r.status as FileState, Number(r.n), Number(r.bytes ?? 0));
    return out;
  }

  async countActiveJobsForIndex(org: string, index: string): Promise<number> {
    const r = this.one(
      this.qb
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', org)
        .where('index_name', '=', index)
        .where('status', 'in', ACTIVE_JOB),
    );
    return Number(r?.n ?? 0);
  }

  async markHashed(fileId: number, owner: string, sha256: string): Promise<boolean> {
    return this.tx(() => this.run(this.qb.updateTable('job_files').set({ sha256 }).where('id', '=', fileId).where('lease_owner', '=', owner).where('status', '=', 'pending')) > 0);
  }

  async gcBlobs(candidates: string[], unlink: (sha256: string) => void): Promise<number> {
    let removed = 0;
    for (let i = 0; i < candidates.length; i += 200) {
      const batch = [...new Set(candidates.slice(i, i + 200))];
      removed += this.tx(() => {
        const used = new Set([
          ...this.all(this.qb.selectFrom('items').select('sha256').where('sha256', 'in', batch)).map((r) => r.sha256),
          ...this.all(this.qb.selectFrom('job_files').select('sha256').where('sha256', 'in', batch).where('status', '=', 'pending')).map((r) => r.sha256!),
        ]);
        let n = 0;
        for (const sha of batch) {
          if (used.has(sha)) continue;
          unlink(sha);
          n++;
        }
        return n;
      });
    }
    return removed;
  }

  async pruneJobs(before: string): Promise<number> {
    return this.tx(() => {
      const ids = this.all(this.qb.selectFrom('jobs').select('id').where('status', 'not in', ACTIVE_JOB).where('finished_at', '<', before)).map((r) => r.id);
      for (let i = 0; i < ids.length; i += 200) {
        const batch = ids.slice(i, i + 200);
        this.run(this.qb.deleteFrom('job_files').where('job_id', 'in', batch));
        this.run(this.qb.deleteFrom('job_logs').where('job_id', 'in', batch));
        this.run(this.qb.deleteFrom('jobs').where('id', 'in', batch));
      }
      return ids.length;
    });
  }

  async listIndexes(org: string, opts: { after?: string; limit: number }): Promise<IndexSummary[]> {
    let q = this.qb
      .selectFrom('indexes as x')
      .leftJoin('items as i', (j) => j.onRef('i.org_id', '=', 'x.org_id').onRef('i.index_name', '=', 'x.name'))
      .select((eb) => ['x.name', 'x.updated_at', eb.fn.count<number>('i.key').as('items'), eb.fn.coalesce(eb.fn.sum<number>('i.size'), sql<number>`0`).as('bytes')])
      .where('x.org_id', '=', org);
    if (opts.after) q = q.where('x.name', '>', opts.after);
    return this.all(q.groupBy(['x.name', 'x.updated_at']).orderBy('x.name').limit(opts.limit)).map((r) => ({
      name: r.name,
      items: Number(r.items),
      bytes: Number(r.bytes),
      updated_at: r.updated_at,
    }));
  }

  async deleteIndex(org: string, index: string): Promise<string[] | null> {
    return this.tx(() => {
      const exists = this.one(this.qb.selectFrom('indexes').select('name').where('org_id', '=', org).where('name', '=', index));
      if (!exists) return null;
      const shas = this.all(this.qb.selectFrom('items').select('sha256').distinct().where('org_id', '=', org).where('index_name', '=', index)).map((r) => r.sha256);
      this.run(this.qb.deleteFrom('items').where('org_id', '=', org).where('index_name', '=', index));
      this.run(this.qb.deleteFrom('import_seen').where('org_id', '=', org).where('index_name', '=', index));
      this.run(this.qb.deleteFrom('indexes').where('org_id', '=', org).where('name', '=', index));
      return shas;
    });
  }

  async deleteItem(org: string, index: string, key: string): Promise<string | null> {
    return this.tx(() => {
      const item = this.one(this.qb.selectFrom('items').select('sha256').where('org_id', '=', org).where('index_name', '=', index).where('key', '=', key));
      if (!item) return null;
      this.run(this.qb.deleteFrom('items').where('org_id', '=', org).where('index_name', '=', index).where('key', '=', key));
      this.run(this.qb.deleteFrom('import_seen').where('org_id', '=', org).where('index_name', '=', index).where('key', '=', key));
      this.run(this.qb.updateTable('indexes').set({ updated_at: new Date().toISOString() }).where('org_id', '=', org).where('name', '=', index));
      return item.sha256;
    });
  }

  async listItems(org: string, index: string, opts: { prefix?: string; after?: string; limit: number }): Promise<ItemRow[]> {
    let q = this.qb.selectFrom('items').selectAll().where('org_id', '=', org).where('index_name', '=', index);
    if (opts.prefix) q = q.where(sql<boolean>`substr(key, 1, length(${opts.prefix})) = ${opts.prefix}`);
    if (opts.after !== undefined) q = q.where('key', '>', opts.after);
    return this.all(q.orderBy('key').limit(opts.limit));
  }

  async getItem(org: string, index: string, key: string): Promise<ItemRow | null> {
    return this.one(this.qb.selectFrom('items').selectAll().where('org_id', '=', org).where('index_name', '=', index).where('key', '=', key));
  }

  async indexExists(org: string, index: string): Promise<boolean> {
    return !!this.one(this.qb.selectFrom('indexes').select('name').where('org_id', '=', org).where('name', '=', index));
  }

  async blobReferenced(sha256: string): Promise<boolean> {
    return !!this.one(this.qb.selectFrom('items').select('key').where('sha256', '=', sha256).limit(1));
  }

  async ensureOrg(name: string, id: string, now: string): Promise<{ id: string; name: string }> {
    return this.tx(() => {
      this.run(this.qb.insertInto('orgs').values({ id, name, created_at: now }).onConflict((oc) => oc.column('name').doNothing()));
      return this.one(this.qb.selectFrom('orgs').select(['id', 'name']).where('name', '=', name))!;
    });
  }

  async insertApiKey(row: Insertable<DB['api_keys']>): Promise<void> {
    this.run(this.qb.insertInto('api_keys').values(row));
  }

  private keysQuery() {
    return this.qb.selectFrom('api_keys as k').innerJoin('orgs as o', 'o.id', 'k.org_id').selectAll('k').select('o.name as org_name');
  }

  async findApiKey(hash: string): Promise<ApiKeyRow | null> {
    return this.one(this.keysQuery().where('k.hash', '=', hash));
  }

  async listApiKeys(): Promise<ApiKeyRow[]> {
    return this.all(this.keysQuery().orderBy('k.created_at'));
  }

  async revokeApiKey(id: string, now: string): Promise<boolean> {
    return this.run(this.qb.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null)) > 0;
  }

  async insertAutomation(row: NewAutomation): Promise<void> {
    this.run(this.qb.insertInto('automations').values(row));
  }

  async getAutomation(org: string, id: string): Promise<AutomationRow | null> {
    return this.one(this.qb.selectFrom('automations').selectAll().where('org_id', '=', org).where('id', '=', id));
  }

  async findAutomationByName(org: string, name: string): Promise<AutomationRow | null> {
    return this.one(this.qb.selectFrom('automations').selectAll().where('org_id', '=', org).where('name', '=', name));
  }

  async listAutomations(org: string, opts: { connectorId?: string; after?: string; limit: number }): Promise<AutomationRow[]> {
    let q = this.qb.selectFrom('automations').selectAll().where('org_id', '=', org);
    if (opts.connectorId) q = q.where('connector_id', '=', opts.connectorId);
    if (opts.after) q = q.where('id', '>', opts.after);
    return this.all(q.orderBy('id').limit(opts.limit));
  }

  async updateAutomation(org: string, id: string, patch: Partial<NewAutomation>): Promise<AutomationRow | null> {
    return this.tx(() => {
      this.run(this.qb.updateTable('automations').set(patch).where('org_id', '=', org).where('id', '=', id));
      return this.one(this.qb.selectFrom('automations').selectAll().where('org_id', '=', org).where('id', '=', id));
    });
  }

  async deleteAutomation(org: string, id: string): Promise<boolean> {
    return this.run(this.qb.deleteFrom('automations').where('org_id', '=', org).where('id', '=', id)) > 0;
  }

  async deleteConnectorAutomations(org: string, connectorId: string): Promise<number> {
    return this.run(this.qb.deleteFrom('automations').where('org_id', '=', org).where('connector_id', '=', connectorId));
  }

  async nextAutomationRun(): Promise<number | null> {
    const r = this.one(this.qb.selectFrom('automations').select((eb) => eb.fn.min<number>('next_run_at').as('t')).where('enabled', '=', 1));
    return r?.t === null || r?.t === undefined ? null : Number(r.t);
  }

  async dueAutomations(now: number, limit: number): Promise<AutomationRow[]> {
    return this.all(this.qb.selectFrom('automations').selectAll().where('enabled', '=', 1).where('next_run_at', '<=', now).orderBy('next_run_at').limit(limit));
  }

  async casAutomation(id: string, expected: number, patch: Partial<NewAutomation>): Promise<boolean> {
    return this.run(this.qb.updateTable('automations').set(patch).where('id', '=', id).where('next_run_at', '=', expected)) > 0;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
