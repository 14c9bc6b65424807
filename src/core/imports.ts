import { CloudportError, asCloudportError, invalid, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/log.js';
import { redact } from '../shared/redact.js';
import type { ObjectInfo, StorageProvider } from '../providers/types.js';
import type { BlobStore } from '../store/blobs.js';
import type { ClaimedFile, FileCounts, FileState, JobRow, JobState, ListedFile, Store } from '../store/types.js';
import type { JobEngine, JobHandlers } from '../jobs/engine.js';
import { FAIL_AFTER, type ConnectorService } from './connectors.js';
import type { ProviderPool } from './providers.js';
import { compileFilter, isFolderMarker, type KeyFilter } from './filter.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { downloadObject } from './download.js';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.js';

export interface StartImportInput {
  connector_id: string;
  index: string;
  prefix?: string;
  pattern?: string;
  keys?: string[];
  import_mode?: 'all' | 'new_only';
  dedupe?: boolean;
}

interface JobParams {
  prefix: string;
  pattern: string | null;
  explicit: boolean;
  mode: 'all' | 'new_only';
  dedupe: boolean;
}

export interface StartImportResult {
  job_id: string;
  status: JobState;
  accepted: number;
  skipped: number;
  sample: string[];
  failed_files: { key: string; error: string }[];
  listing_complete: boolean;
}

export interface ImportStatus {
  job_id: string;
  connector_id: string;
  index: string;
  status: JobState;
  counts: FileCounts;
  bytes_done: number;
  bytes_total: number;
  listing_complete: boolean;
  /** Why the job failed (listing error, or no file succeeded); null otherwise. */
  reason: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  files?: { key: string; status: FileState; size?: number; error?: string; duplicate_of?: string }[];
  next_cursor?: string | null;
}

const INDEX_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const ARCHIVED_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);
/** How long start_import lists before it answers (the rest of the listing continues in the background). */
const FIRST_LISTING_MS = 2000;
const FIRST_LISTING_FILES = 1000;

export function checkIndexName(index: string): string {
  if (!INDEX_NAME.test(index)) {
    throw invalid('index', `index name ${JSON.stringify(index)} is not valid`, '1-100 characters: letters, digits, ".", "_", "-", starting with a letter or digit.');
  }
  return index;
}

export interface ImportOptions {
  retry?: RetryPolicy;
  idleTimeoutMs: number;
  leaseMs: number;
  log: Logger;
}

export class ImportService implements JobHandlers {
  private engine!: JobEngine;
  private readonly retry: RetryPolicy;

  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly pool: ProviderPool,
    private readonly connectors: ConnectorService,
    private readonly opts: ImportOptions,
  ) {
    this.retry = opts.retry ?? DEFAULT_RETRY;
  }

  attach(engine: JobEngine): void {
    this.engine = engine;
  }

  async start(org: string, input: StartImportInput): Promise<StartImportResult> {
    const c = await this.connectors.get(org, input.connector_id);
    if (c.status !== 'ACTIVE') {
      const fix =
        c.status === 'SUSPENDED'
          ? 'Resume it with update_connector {status: "ACTIVE"}.'
          : c.status === 'FAILED'
            ? `Fix the cause (${c.last_error ?? 'see last_error'}), then run test_connector; a passing test makes it ACTIVE again.`
            : 'ARCHIVED is final: create a new connector.';
      throw new CloudportError('conflict', `connector ${c.id} is ${c.status} and cannot start imports`, { field: 'connector_id', fix });
    }
    if (!(JSON.parse(c.scopes) as string[]).includes('import')) {
      throw new CloudportError('permission_denied', `connector ${c.id} lacks the import scope`, {
        field: 'connector_id',
        fix: 'Add it with update_connector {scopes: ["import", ...]}.',
      });
    }
    const index = checkIndexName(input.index);
    if (input.keys && (input.prefix || input.pattern)) throw invalid('keys', 'give either keys or prefix/pattern, not both', 'Use keys for an explicit list, or prefix + pattern to select by listing.');
    const params: JobParams = {
      prefix: input.prefix ?? '',
      pattern: input.pattern ?? null,
      explicit: !!input.keys,
      mode: input.import_mode ?? (c.import_mode as 'all' | 'new_only'),
      dedupe: input.dedupe ?? true,
    };
    const filter = compileFilter(params.prefix, params.pattern ?? undefined);
    const provider = this.pool.get(c);
    const id = newId('imp');
    const now = new Date().toISOString();
    let files: ListedFile[];
    let state: string | null = null;
    let complete = true;
    try {
      if (input.keys) {
        files = await this.statKeys(provider, input.keys);
      } else {
        files = [];
        let token: string | null = null;
        const deadline = Date.now() + FIRST_LISTING_MS;
        do {
          const page = await withRetry(() => provider.list({ prefix: filter.listPrefix, token, maxKeys: 1000 }), this.retry);
          files.push(...this.select(page.objects, filter));
          token = page.nextToken;
        } while (token && Date.now() < deadline && files.length < FIRST_LISTING_FILES);
        complete = token === null;
        state = JSON.stringify({ t: token });
      }
      files = await this.applyMode(files, params, org, c.id, index);
    } catch (e) {
      const err = asCloudportError(e);
      await this.store.recordHealth(org, c.id, { ok: false, error: `import listing failed: ${err.message}`, failAfter: FAIL_AFTER, now });
      throw err;
    }
    await this.store.createJob(
      {
        id,
        org_id: org,
        kind: 'import',
        connector_id: c.id,
        index_name: index,
        params: JSON.stringify(params),
        status: 'queued',
        listing_state: state,
        listing_complete: complete ? 1 : 0,
        lease_owner: null,
        lease_expires: 0,
        error: null,
        created_at: now,
        started_at: null,
        finished_at: null,
      },
      files,
    );
    await this.log(org, id, c.id, 'info', null, `import started into index ${index}: ${files.filter((f) => !f.status).length} files queued${complete ? '' : ' so far (listing continues)'}`);
    this.engine?.wake();
    const accepted = files.filter((f) => !f.status);
    return {
      job_id: id,
      status: 'queued',
      accepted: accepted.length,
      skipped: files.filter((f) => f.status === 'skipped').length,
      sample: accepted.slice(0, 5).map((f) => f.key),
      failed_files: files
        .filter((f) => f.status === 'failed')
        .slice(0, 20)
        .map((f) => ({ key: f.key, error: f.error ?? 'failed' })),
      listing_complete: complete,
    };
  }

  /** Explicit keys: one HEAD each (bounded concurrency) for size and version; missing keys fail at once. */
  private async statKeys(provider: StorageProvider, keys: string[]): Promise<ListedFile[]> {
    const unique = [...new Set(keys)];
    keys.forEach((k, i) => {
      if (!k) throw invalid(`keys[${i}]`, 'keys must not be empty strings');
    });
    const out: ListedFile[] = new Array(unique.length);
    let next = 0;
    const worker = async () => {
      while (next < unique.length) {
        const i = next++;
        const key = unique[i]!;
        try {
          const o = await withRetry(() => provider.stat(key), this.retry);
          out[i] = this.selectOne(o) ?? { key, size: 0, etag: null, version: null, status: 'skipped' };
        } catch (e) {
          const err = asCloudportError(e);
          if (err.kind !== 'not_found' && err.kind !== 'permission_denied') throw err;
          out[i] = { key, size: null, etag: null, version: null, status: 'failed', error: redact(err.message) };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, unique.length) }, worker));
    return out;
  }

  private selectOne(o: ObjectInfo): ListedFile | null {
    if (isFolderMarker(o.key, o.size)) return null;
    const f: ListedFile = { key: o.key, size: o.size, etag: o.etag, version: o.version };
    if (o.storage_class && ARCHIVED_CLASSES.has(o.storage_class)) {
      f.status = 'failed';
      f.error = `needs restore: the object is in ${o.storage_class}; restore it (aws s3api restore-object) and import again`;
    }
    return f;
  }

  private select(objects: ObjectInfo[], filter: KeyFilter): ListedFile[] {
    const out: ListedFile[] = [];
    for (const o of objects) {
      if (!filter.matches(o.key)) continue;
      const f = this.selectOne(o);
      if (f) out.push(f);
    }
    return out;
  }

  /** new_only: files this (connector, index) already imported with the same version are skipped without a GET. */
  private async applyMode(files: ListedFile[], params: JobParams, org: string, connectorId: string, index: string): Promise<ListedFile[]> {
    if (params.mode !== 'new_only' || !files.length) return files;
    const seen = await this.store.seenVersions(org, connectorId, index, files.filter((f) => !f.status).map((f) => f.key));
    return files.map((f) => (!f.status && f.version && seen.get(f.key) === f.version ? { ...f, status: 'skipped' as FileState } : f));
  }

  async status(org: string, jobId: string, opts: { files_status?: string; cursor?: string; limit: number }): Promise<ImportStatus> {
    const job = await this.getJob(org, jobId);
    const progress = await this.store.jobProgress(job.id);
    const out: ImportStatus = {
      job_id: job.id,
      connector_id: job.connector_id,
      index: job.index_name,
      status: job.status as JobState,
      counts: progress.counts,
      bytes_done: progress.bytes_done,
      bytes_total: progress.bytes_total,
      listing_complete: job.listing_complete === 1,
      reason: job.error,
      created_at: job.created_at,
      started_at: job.started_at,
      finished_at: job.finished_at,
    };
    if (opts.files_status) {
      const q = { j: job.id, s: opts.files_status };
      const cur = decodeCursor<{ after: number }>(opts.cursor, q);
      const status = opts.files_status === 'all' ? undefined : (opts.files_status as FileState);
      const rows = await this.store.listJobFiles(job.id, { status, afterId: cur?.after, limit: opts.limit + 1 });
      const more = rows.length > opts.limit;
      if (more) rows.pop();
      out.files = rows.map((r) => {
        const f: NonNullable<ImportStatus['files']>[number] = { key: r.key, status: r.status as FileState };
        if (r.size !== null) f.size = r.size;
        if (r.error && r.status !== 'ready' && r.status !== 'deduped') f.error = r.error;
        if (r.duplicate_of !== null) f.duplicate_of = r.duplicate_of;
        return f;
      });
      out.next_cursor = more ? encodeCursor({ after: rows[rows.length - 1]!.id }, q) : null;
    }
    return out;
  }

  async cancel(org: string, jobId: string): Promise<ImportStatus> {
    await this.getJob(org, jobId);
    await this.store.cancelJob(org, jobId, new Date().toISOString());
    this.engine?.abortJob(jobId);
    this.engine?.notify(jobId);
    return this.status(org, jobId, { limit: 0 });
  }

  private async getJob(org: string, jobId: string): Promise<JobRow> {
    const job = await this.store.getJob(org, jobId);
    if (!job) throw notFound('import job', jobId, 'Check the job_id returned by start_import.');
    return job;
  }

  private async log(org: string, jobId: string, connectorId: string, level: string, key: string | null, message: string) {
    await this.store.addLog({ org_id: org, job_id: jobId, connector_id: connectorId, level, key, message: redact(message), time: new Date().toISOString() });
  }

  // ---- job handlers (run by the engine in the background) ----

  async listNext(job: JobRow, owner: string, signal: AbortSignal): Promise<void> {
    const params = JSON.parse(job.params) as JobParams;
    const filter = compileFilter(params.prefix, params.pattern ?? undefined);
    let token = (JSON.parse(job.listing_state ?? '{"t":null}') as { t: string | null }).t;
    try {
      const c = await this.connectors.get(job.org_id, job.connector_id);
      const provider = this.pool.get(c);
      for (;;) {
        const page = await withRetry(() => provider.list({ prefix: filter.listPrefix, token, maxKeys: 1000, signal }), this.retry, signal);
        const files = await this.applyMode(this.select(page.objects, filter), params, job.org_id, job.connector_id, job.index_name);
        token = page.nextToken;
        const kept = await this.store.appendListing(job.id, owner, files, JSON.stringify({ t: token }), token === null, this.opts.leaseMs);
        this.engine?.wake();
        if (!kept || token === null || signal.aborted) return;
      }
    } catch (e) {
      if (signal.aborted) return;
      const err = asCloudportError(e);
      await this.store.failListing(job.id, owner, `listing failed: ${redact(err.message)}`, new Date().toISOString());
      await this.log(job.org_id, job.id, job.connector_id, 'error', null, `listing failed: ${err.message}`);
    }
  }

  async processFile(file: ClaimedFile, owner: string, signal: AbortSignal): Promise<void> {
    const params = JSON.parse(file.params) as JobParams;
    const c = await this.store.getConnector(file.org_id, file.connector_id);
    if (!c) {
      await this.store.failFile(file.id, owner, 'the connector was deleted', null);
      return;
    }
    try {
      const provider = this.pool.get(c);
      const d = await downloadObject(provider, this.blobs, file.key, {
        retry: this.retry,
        idleTimeoutMs: this.opts.idleTimeoutMs,
        signal,
        onRetry: (err, attempt) => this.opts.log.debug('retrying download', { job_id: file.job_id, attempt, error: err.message }),
      });
      await this.blobs.commit(d.tempPath, d.sha256);
      const res = await this.store.commitFile({
        fileId: file.id,
        owner,
        orgId: file.org_id,
        connectorId: file.connector_id,
        index: file.index_name,
        key: file.key,
        sha256: d.sha256,
        size: d.size,
        contentType: d.content_type,
        etag: d.etag,
        version: d.version,
        dedupe: params.dedupe,
        now: new Date().toISOString(),
      });
      if (!res && !(await this.store.blobReferenced(d.sha256))) await this.blobs.remove(d.sha256);
    } catch (e) {
      if (signal.aborted) return;
      const err = asCloudportError(e);
      const message = redact(err.message);
      await this.store.failFile(file.id, owner, message, null);
      await this.log(file.org_id, file.job_id, file.connector_id, 'error', file.key, message);
    }
  }

  async onFinalized(job: JobRow): Promise<void> {
    const now = new Date().toISOString();
    const p = await this.store.jobProgress(job.id);
    const c = p.counts;
    await this.log(
      job.org_id,
      job.id,
      job.connector_id,
      job.status === 'failed' ? 'error' : 'info',
      null,
      `import ${job.status}: ${c.ready} ready, ${c.deduped} deduped, ${c.skipped} skipped, ${c.failed} failed${c.canceled ? `, ${c.canceled} canceled` : ''}${job.error ? ` (${job.error})` : ''}`,
    );
    if (job.status === 'failed') {
      await this.store.recordHealth(job.org_id, job.connector_id, { ok: false, error: `import ${job.id} failed: ${job.error ?? 'no file succeeded'}`, failAfter: FAIL_AFTER, now });
    } else if (job.status === 'completed' || job.status === 'completed_with_errors') {
      await this.store.recordHealth(job.org_id, job.connector_id, { ok: true, synced: true, failAfter: FAIL_AFTER, now });
    }
  }
}
