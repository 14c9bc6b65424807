import { invalid, notFound } from '../../shared/errors.js';
import type { FileCounts, FileState, JobRow, JobState, Store } from '../../store/types.js';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import { entryBytes, fitPage } from '../domain/page-budget.js';
import type { JobEngine } from './engine.js';
import { FINAL_STATES, exportCounts, shownFileState, storeFileState, type JobCounts, type JobKind } from './kinds.js';
import { jobReason, parseListingState, withCompacted } from './listing-state.js';
import { exportPathOf } from './export/paths.js';

/**
 * What an agent sees of jobs of either kind: import_status (with its long poll), list_imports,
 * import_logs and cancel_import.
 */

export interface ImportSummary {
  job_id: string;
  /** "import", "export" or "reindex": these views serve every kind. */
  kind: JobKind;
  connector_id: string;
  index: string;
  automation_id: string | null;
  status: JobState;
  counts: JobCounts;
  created_at: string;
  finished_at: string | null;
}

export interface ImportStatus extends ImportSummary {
  bytes_done: number;
  bytes_total: number;
  listing_complete: boolean;
  /** Why the job failed (listing error, no file succeeded, no object matched), or why it did nothing (an automation's run that matched nothing); null otherwise. */
  reason: string | null;
  /** Set while the job is held up by something that is not its files' fault (the store is full); the job resumes on its own. */
  warning?: string;
  started_at: string | null;
  files?: { key: string; status: FileState | 'exported'; size?: number; error?: string; duplicate_of?: string; path?: string }[];
  /**
   * Skipped files the job counts but keeps no row for (past the first SKIPPED_ROWS_KEPT, or an automation's
   * compacted run): no page lists them, so files_status "skipped" or "all" says how many its pages leave out.
   */
  files_unlisted?: number;
  next_cursor?: string | null;
}

/** A job's counts as the views show them: skipped files kept as a number included; an export's ready as exported. */
function shownCounts(job: JobRow, counts: FileCounts): JobCounts {
  const c = withCompacted(job, counts);
  return job.kind === 'export' ? exportCounts(c) : c;
}

export class JobViews {
  private engine?: JobEngine;

  constructor(private readonly store: Store) {}

  attach(engine: JobEngine): void {
    this.engine = engine;
  }

  /**
   * A job waiting for a worker on a server that runs none (--workers 0): said, since nothing else tells
   * it from a job about to start. Another process on the store may still take it.
   */
  private idleWarning(job: JobRow): string | null {
    if (!this.engine || this.engine.runsWork || job.status !== 'queued') return null;
    return 'this server runs no job work (--workers 0): the job starts when a cloudport worker on the same store (or a server without --workers 0) takes it; if none runs, start one';
  }

  async status(org: string, jobId: string, opts: { files_status?: string; cursor?: string; limit: number }): Promise<ImportStatus> {
    const job = await this.getJob(org, jobId);
    const progress = await this.store.jobProgress(job.id);
    const out: ImportStatus = {
      job_id: job.id,
      kind: job.kind as JobKind,
      connector_id: job.connector_id,
      index: job.index_name,
      automation_id: job.automation_id ?? null,
      status: job.status as JobState,
      counts: shownCounts(job, progress.counts),
      bytes_done: progress.bytes_done,
      bytes_total: progress.bytes_total,
      listing_complete: job.listing_complete === 1,
      reason: jobReason(job),
      created_at: job.created_at,
      started_at: job.started_at,
      finished_at: job.finished_at,
    };
    const warning = FINAL_STATES.has(job.status) ? null : ((await this.engine?.health.warning()) ?? this.idleWarning(job));
    if (warning) out.warning = warning;
    if (opts.files_status) {
      // An export's files are exported, skipped, failed, pending or canceled; an import's are never exported.
      const foreign = job.kind === 'export' ? ['ready', 'deduped'] : ['exported'];
      if (foreign.includes(opts.files_status)) {
        throw invalid('files_status', `${job.kind} ${job.id} has no ${opts.files_status} files: that state is ${job.kind === 'export' ? "an import's" : "an export's"}`, `Use ${job.kind === 'export' ? '"exported"' : '"ready" or "deduped"'}, "skipped", "failed", "pending", "canceled" or "all".`);
      }
      const q = { j: job.id, s: opts.files_status };
      const cur = decodeCursor<{ after: number }>(org, opts.cursor, q, { after: 'count' });
      const status = opts.files_status === 'all' ? undefined : (storeFileState(job.kind, opts.files_status) as FileState);
      const rows = await this.store.listJobFiles(job.id, { status, afterId: cur?.after, limit: opts.limit + 1 });
      let more = rows.length > opts.limit;
      if (more) rows.pop();
      const files = rows.map((r) => {
        const f: NonNullable<ImportStatus['files']>[number] = { key: r.key, status: shownFileState(job.kind, r.status) as FileState };
        if (r.size !== null) f.size = r.size;
        const path = exportPathOf(job, r.key, r.sha256 ?? r.version);
        if (path && r.status !== 'failed') f.path = path;
        if (r.error && r.status !== 'ready' && r.status !== 'deduped') f.error = r.error;
        if (r.duplicate_of !== null) f.duplicate_of = r.duplicate_of;
        return f;
      });
      // Long keys, paths or errors make a shorter page (the cursor resumes after the last one shown), never a cut entry.
      // Each entry also names its fields ("status", "size", "path"…): about 20 bytes more than a page's row.
      if (fitPage(files, (f) => entryBytes(f.key, f.error, f.duplicate_of, f.path) + 20)) more = true;
      out.files = files;
      out.next_cursor = more ? encodeCursor(org, { after: rows[files.length - 1]!.id }, q) : null;
      const unlisted = opts.files_status === 'skipped' || opts.files_status === 'all' ? Number(parseListingState(job.listing_state).compacted ?? 0) : 0;
      if (unlisted > 0) out.files_unlisted = unlisted;
    }
    return out;
  }

  /**
   * The long poll of import_status {wait_seconds}: answers when the job is final, when the wait ends,
   * or when the request is cancelled, never on a mere count change (an agent pays a turn per answer).
   * Progress goes out meanwhile through `onProgress` (notifications/progress) whenever it moves.
   */
  async waitForChange(
    org: string,
    jobId: string,
    seconds: number,
    opts: { files_status?: string; cursor?: string; limit: number },
    signal: AbortSignal,
    onProgress?: (s: ImportStatus) => void,
  ): Promise<ImportStatus> {
    const first = await this.status(org, jobId, opts);
    if (seconds <= 0 || (FINAL_STATES.has(first.status) && (await this.endWritten(org, jobId))) || signal.aborted || this.ending) return first;
    const snapshot = (s: ImportStatus) => `${s.status}|${JSON.stringify(s.counts)}|${s.listing_complete}|${s.warning ?? ''}`;
    let reported = snapshot(first);
    onProgress?.(first);
    return new Promise<ImportStatus>((resolve) => {
      let done = false;
      let checking = false;
      let last = first;
      const finish = (s: ImportStatus) => {
        if (done) return;
        done = true;
        this.waits.delete(endNow);
        clearInterval(poll);
        clearTimeout(limit);
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
        resolve(s);
      };
      // A check asked for while a query runs runs right after it (null: none; true: forced by a final
      // job, the time limit or an abort). Dropped, a forced one would leave the call waiting until its limit.
      let queued: boolean | null = null;
      const check = async (force = false): Promise<void> => {
        if (done) return;
        if (checking) {
          queued = (queued ?? false) || force;
          return;
        }
        checking = true;
        try {
          const s = (last = await this.status(org, jobId, opts));
          // Final, and its end written (its log line, the connector's health): what the agent reads next shows them.
          if (force || (FINAL_STATES.has(s.status) && (await this.endWritten(org, jobId)))) finish(s);
          else if (snapshot(s) !== reported) {
            reported = snapshot(s);
            onProgress?.(s);
          }
        } catch {
          finish(last);
        } finally {
          checking = false;
          if (queued !== null && !done) {
            const again = queued;
            queued = null;
            void check(again);
          }
        }
      };
      // The poll sees jobs finished by other processes and feeds progress; this process's own engine
      // says at once when a job becomes final.
      const poll = setInterval(() => void check(), 500);
      const limit = setTimeout(() => void check(true), seconds * 1000);
      const unsubscribe = this.engine?.onChange((id, final) => id === jobId && final && void check(true)) ?? (() => true);
      const onAbort = () => void check(true);
      signal.addEventListener('abort', onAbort, { once: true });
      const endNow = () => void check(true);
      this.waits.add(endNow);
    });
  }

  /** Whether a final job's end is written (a job that is gone has nothing more to wait for). */
  private async endWritten(org: string, jobId: string): Promise<boolean> {
    const row = await this.store.getJob(org, jobId);
    return !row || row.ended !== 0;
  }

  /** Long polls waiting now, each answering at once when called (a shutdown ends them so). */
  private readonly waits = new Set<() => void>();

  /** Set by endWaits: a long poll that starts from then on answers at once. */
  private ending = false;

  /** Has every long poll answer now, and any started later at once, with the job's status as it is (a front door shutting down). */
  endWaits(): void {
    this.ending = true;
    for (const w of [...this.waits]) w();
  }

  async list(
    org: string,
    opts: { connector_id?: string; index?: string; status?: string; automation_id?: string; kind?: string; cursor?: string; limit: number },
  ): Promise<{ imports: ImportSummary[]; next_cursor: string | null }> {
    const q = { c: opts.connector_id ?? null, i: opts.index ?? null, s: opts.status ?? null, ...(opts.automation_id ? { a: opts.automation_id } : {}), ...(opts.kind ? { k: opts.kind } : {}) };
    // The cursor holds the last row's (created_at, id): list order is creation time, newest first, across imports and exports.
    const cur = decodeCursor<{ at: string; before: string }>(org, opts.cursor, q, { at: 'string', before: 'string' });
    if (cur && (typeof cur.at !== 'string' || typeof cur.before !== 'string')) throw invalid('cursor', 'cursor is from an older list order', 'Omit the cursor to start over.');
    const rows = await this.store.listJobs(org, {
      connectorId: opts.connector_id,
      index: opts.index,
      status: opts.status,
      automationId: opts.automation_id,
      kind: opts.kind,
      ...(cur ? { before: { createdAt: cur.at, id: cur.before } } : {}),
      limit: opts.limit + 1,
    });
    let more = rows.length > opts.limit;
    if (more) rows.pop();
    // No job, and the filter names a connector or index that is not there: a misspelled id, not an idle one
    // (jobs outlive a deleted connector or index, so one with jobs still lists them).
    if (!rows.length && !cur) {
      const noJobs = async (f: { connectorId?: string; index?: string; automationId?: string }) => !(await this.store.listJobs(org, { ...f, limit: 1 })).length;
      if (opts.connector_id && !(await this.store.getConnector(org, opts.connector_id)) && (await noJobs({ connectorId: opts.connector_id }))) {
        throw notFound('connector', opts.connector_id, 'connector_id', 'list_connectors shows the connectors that exist.');
      }
      if (opts.index && !(await this.store.indexExists(org, opts.index)) && (await noJobs({ index: opts.index }))) throw notFound('index', opts.index, 'index', 'list_indexes shows the indexes.');
      if (opts.automation_id && !(await this.store.getAutomation(org, opts.automation_id)) && (await noJobs({ automationId: opts.automation_id }))) {
        throw notFound('automation', opts.automation_id, 'automation_id', 'list_automations shows the automations that exist.');
      }
    }
    // Long ids or index names make a shorter page (the cursor resumes after the last one shown), never a cut row.
    // Each row also shows its kind, status and seven counts: about 20 bytes besides its strings and ENTRY_OVERHEAD.
    if (fitPage(rows, (r) => entryBytes(r.id, r.connector_id, r.index_name, r.automation_id, r.created_at, r.finished_at, r.kind, r.status) + 20)) more = true;
    const progress = await this.store.jobsProgress(rows.map((r) => r.id));
    return {
      imports: rows.map((r) => ({
        job_id: r.id,
        kind: r.kind as JobKind,
        connector_id: r.connector_id,
        index: r.index_name,
        automation_id: r.automation_id ?? null,
        status: r.status as JobState,
        counts: shownCounts(r, progress.get(r.id)!.counts),
        created_at: r.created_at,
        finished_at: r.finished_at,
      })),
      next_cursor: more ? encodeCursor(org, { at: rows[rows.length - 1]!.created_at, before: rows[rows.length - 1]!.id }, q) : null,
    };
  }

  async logs(
    org: string,
    opts: { connector_id?: string; job_id?: string; cursor?: string; limit: number },
  ): Promise<{ entries: { time: string; level: string; job_id: string; key?: string; message: string }[]; next_cursor: string | null }> {
    if (opts.job_id) await this.getJob(org, opts.job_id);
    if (opts.connector_id && !(await this.store.getConnector(org, opts.connector_id))) {
      // Logs outlive a deleted connector: only complain when there is nothing at all.
      const any = await this.store.listLogs(org, { connectorId: opts.connector_id, limit: 1 });
      if (!any.length) throw notFound('connector', opts.connector_id, 'connector_id', 'list_connectors shows the connectors that exist.');
    }
    const q = { c: opts.connector_id ?? null, j: opts.job_id ?? null };
    const cur = decodeCursor<{ after: number }>(org, opts.cursor, q, { after: 'count' });
    const rows = await this.store.listLogs(org, { connectorId: opts.connector_id, jobId: opts.job_id, afterId: cur?.after, limit: opts.limit + 1 });
    let more = rows.length > opts.limit;
    if (more) rows.pop();
    if (fitPage(rows, (r) => entryBytes(r.key, r.message, r.job_id, r.time) + 20)) more = true;
    return {
      entries: rows.map((r) => ({ time: r.time, level: r.level, job_id: r.job_id, ...(r.key !== null ? { key: r.key } : {}), message: r.message })),
      next_cursor: more ? encodeCursor(org, { after: rows[rows.length - 1]!.id }, q) : null,
    };
  }

  async cancel(org: string, jobId: string): Promise<ImportStatus> {
    await this.getJob(org, jobId);
    const job = await this.store.cancelJob(org, jobId, new Date().toISOString(), this.engine ? { owner: this.engine.owner, leaseMs: this.engine.leaseMs } : undefined);
    this.engine?.abortJob(jobId);
    // The call that canceled it writes the job's end (its log line), as the engine does for other ends.
    if (job?.canceledNow) await this.engine?.finalized(job);
    else this.engine?.notify(jobId);
    return this.status(org, jobId, { limit: 0 });
  }

  async getJob(org: string, jobId: string, field = 'job_id'): Promise<JobRow> {
    const job = await this.store.getJob(org, jobId);
    if (!job) {
      throw notFound('job', jobId, field, 'Check the job_id returned by start_import or start_export (list_imports finds jobs). A finished job is pruned after CLOUDPORT_RETENTION_DAYS, and an automation run that found nothing to do when the next run starts (list_imports {automation_id} lists the runs kept).');
    }
    return job;
  }
}
