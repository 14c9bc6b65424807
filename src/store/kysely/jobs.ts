import { sql } from 'kysely';
import { all, one, run, type Tx } from '../ops.js';
import type { FileState, JobFileRow, JobProgress, JobRow, LogEntry, StoreJobs } from '../types.js';
import { ACTIVE_JOB, deleteJobs, type Part } from './base.js';

/** How long a canceled job's end waits for a canceling call that has no engine to lease it to. */
const CANCEL_END_MS = 30_000;

/** Adds one (status, count, bytes) group to a job's progress. Bytes count for files that are or will be stored. */
function addProgress(p: JobProgress, status: FileState, n: number, bytes: number): void {
  p.counts[status] = n;
  if (status === 'ready' || status === 'deduped') p.bytes_done += bytes;
  if (status === 'ready' || status === 'deduped' || status === 'pending') p.bytes_total += bytes;
}

const emptyProgress = (): JobProgress => ({ counts: { pending: 0, ready: 0, deduped: 0, skipped: 0, failed: 0, canceled: 0 }, bytes_done: 0, bytes_total: 0 });

/** Jobs as a whole: reading them and their progress, their logs, canceling, finalizing and pruning them. */
export function withJobs<B extends Part>(Base: B) {
  abstract class JobsPart extends Base implements StoreJobs {
    async getJob(org: string, id: string): Promise<JobRow | null> {
      return this.exec('auto', () => one(this.qb.selectFrom('jobs').selectAll().where('org_id', '=', org).where('id', '=', id)));
    }

    async countActiveJobs(org: string, connectorId: string): Promise<number> {
      return this.countActive(org, 'connector_id', connectorId);
    }

    async countActiveJobsForIndex(org: string, index: string): Promise<number> {
      return this.countActive(org, 'index_name', index);
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

    async listJobFiles(jobId: string, opts: { status?: FileState; afterId?: number; limit: number }): Promise<JobFileRow[]> {
      let q = this.qb.selectFrom('job_files').selectAll().where('job_id', '=', jobId);
      if (opts.status) q = q.where('status', '=', opts.status);
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

    async cancelJob(org: string, id: string, now: string, end?: { owner: string; leaseMs: number }): Promise<(JobRow & { canceledNow?: true }) | null> {
      return this.exec('tx', () => this.cancelJobTx(org, id, now, end));
    }

    private *cancelJobTx(org: string, id: string, now: string, endLease?: { owner: string; leaseMs: number }): Tx<(JobRow & { canceledNow?: true }) | null> {
      let q = this.qb.selectFrom('jobs').selectAll().where('org_id', '=', org).where('id', '=', id);
      if (this.pg) q = q.forUpdate();
      const job = yield* one(q);
      if (!job || !ACTIVE_JOB.includes(job.status as never)) return job;
      // The canceling call writes the end (its log line) next, under this lease; should it fail, a worker's
      // tick writes it once the lease lapses. Until then long polls wait for it.
      const end = { ended: 0, lease_owner: endLease?.owner ?? null, lease_expires: this.clock() + (endLease?.leaseMs ?? CANCEL_END_MS) };
      // A listing still going stops here short of its end: 2 (listing_complete reads false).
      yield* run(this.qb.updateTable('jobs').set({ status: 'canceled', finished_at: now, listing_complete: sql<number>`CASE WHEN listing_complete = 0 THEN 2 ELSE listing_complete END`, ...end }).where('id', '=', id));
      yield* run(this.qb.updateTable('job_files').set({ status: 'canceled', lease_owner: null, lease_expires: 0 }).where('job_id', '=', id).where('status', '=', 'pending'));
      return { ...job, status: 'canceled', finished_at: now, canceledNow: true, ...end };
    }

    async finalizeJobs(now: string, end?: { owner: string; leaseMs: number }): Promise<JobRow[]> {
      return this.exec('tx', () => this.finalizeJobsTx(now, end));
    }

    async markJobEnded(id: string): Promise<void> {
      await this.exec('auto', () => run(this.qb.updateTable('jobs').set({ ended: 1, lease_owner: null, lease_expires: 0 }).where('id', '=', id)));
    }

    private *finalizeJobsTx(now: string, end?: { owner: string; leaseMs: number }): Tx<JobRow[]> {
      const t = this.clock();
      // A final job whose end its finalizer did not write goes to this one once the lease lapses (the
      // finalizer died), or again to the finalizer itself (its writes failed: the database was out of reach).
      // An engine's ticks run one after another, so a job of its own here is not being ended meanwhile.
      let lapsed = this.qb
        .selectFrom('jobs')
        .selectAll()
        .where('ended', '=', 0)
        .where((eb) => eb.or([eb('lease_expires', '<', t), ...(end ? [eb('lease_owner', '=', end.owner)] : [])]));
      if (this.pg) lapsed = lapsed.forUpdate().skipLocked();
      const orphans = end ? yield* all(lapsed.limit(16)) : [];
      for (const job of orphans) yield* run(this.qb.updateTable('jobs').set({ lease_owner: end!.owner, lease_expires: t + end!.leaseMs }).where('id', '=', job.id));
      let q = this.qb
        .selectFrom('jobs')
        .selectAll()
        .where('status', 'in', ACTIVE_JOB)
        .where('listing_complete', '<>', 0)
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
        // The end (log line, connector health) is written next, under this lease: until then long polls wait.
        const lease = end ? { ended: 0, lease_owner: end.owner, lease_expires: t + end.leaseMs } : { lease_owner: null, lease_expires: 0 };
        yield* run(
          this.qb
            .updateTable('jobs')
            .set({ status, finished_at: now, error, started_at: job.started_at ?? now, ...lease })
            .where('id', '=', job.id),
        );
        out.push({ ...job, status, finished_at: now, error, ...lease });
      }
      return [...orphans, ...out];
    }

    async startJobs(now: string): Promise<void> {
      await this.exec('auto', () => run(this.qb.updateTable('jobs').set({ status: 'running', started_at: now }).where('status', '=', 'queued')));
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

    async pruneJobs(before: string): Promise<number> {
      return this.exec('tx', () => this.pruneJobsTx(before));
    }

    private *pruneJobsTx(before: string): Tx<number> {
      const ids = (yield* all(this.qb.selectFrom('jobs').select('id').where('status', 'not in', ACTIVE_JOB).where('finished_at', '<', before))).map((r) => r.id);
      yield* deleteJobs(this.qb, ids);
      return ids.length;
    }
  }
  return JobsPart;
}
