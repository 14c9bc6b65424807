import { createHash } from 'node:crypto';
import { CloudportError, asCloudportError, invalid, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/log.js';
import { redact } from '../shared/redact.js';
import type { ObjectInfo, StorageProvider } from '../providers/types.js';
import { gcUnlink, type BlobStore } from '../store/blobs.js';
import type { ClaimedFile, CommitFile, ConnectorRow, FileCounts, FileState, JobRow, JobState, ListedFile, Store } from '../store/types.js';
import type { JobEngine, JobHandlers } from '../jobs/engine.js';
import { FAIL_AFTER, requireUsable, type ConnectorService } from './connectors.js';
import type { ProviderPool } from './providers.js';
import { compileFilter, isFolderMarker, type KeyFilter } from './filter.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { downloadObject, type Downloaded } from './download.js';
import { Batcher } from '../shared/batch.js';
import type { HashWorkers } from './hash-workers.js';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.js';
import { exportCounts, exportPathOf, shownFileState, storeFileState, type JobCounts, type JobKind } from './exports.js';
import { NO_MATCH, explainNoMatch, noMatchError, noMatchText, type Selection } from './nomatch.js';
import { checkIndexName } from './index-names.js';

export interface StartImportInput {
  connector_id?: string;
  index?: string;
  prefix?: string;
  pattern?: string;
  keys?: string[];
  import_mode?: 'all' | 'new_only';
  dedupe?: boolean;
  exclude?: string[];
  min_size?: number;
  max_size?: number;
  modified_after?: string;
  idempotency_key?: string;
  dry_run?: boolean;
  retry_of?: string;
  /** Set by the automation scheduler (not a tool input): the job belongs to this automation. */
  automation_id?: string;
}

interface JobParams {
  prefix: string;
  pattern: string | null;
  explicit: boolean;
  mode: 'all' | 'new_only';
  dedupe: boolean;
  exclude?: string[];
  min_size?: number;
  max_size?: number;
  modified_after?: string;
  retry_of?: string;
}

export interface StartImportResult {
  /** null for a dry run. */
  job_id: string | null;
  status: JobState | null;
  accepted: number;
  /** Bytes of the accepted files (so far, while the listing continues). */
  bytes: number;
  skipped: number;
  sample: string[];
  failed_files: { key: string; error: string }[];
  listing_complete: boolean;
  /** True when an earlier call with the same idempotency_key created this job. */
  replayed?: boolean;
  /** Set when nothing matched (a dry run, or an automation's run): why, with hints from the listing. */
  hint?: string;
}

export interface ImportSummary {
  job_id: string;
  /** "import" or "export": these views serve both kinds. */
  kind: JobKind;
  connector_id: string;
  index: string;
  automation_id: string | null;
  status: JobState;
  counts: JobCounts;
  created_at: string;
  finished_at: string | null;
}

export interface ImportStatus {
  job_id: string;
  kind: JobKind;
  connector_id: string;
  index: string;
  automation_id: string | null;
  status: JobState;
  counts: JobCounts;
  bytes_done: number;
  bytes_total: number;
  listing_complete: boolean;
  /** Why the job failed (listing error, no file succeeded, no object matched), or why it did nothing (an automation's run that matched nothing); null otherwise. */
  reason: string | null;
  /** Set while the job is held up by something that is not its files' fault (the store is full); the job resumes on its own. */
  warning?: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  files?: { key: string; status: FileState | 'exported'; size?: number; error?: string; duplicate_of?: string; path?: string }[];
  next_cursor?: string | null;
}

const FINAL_STATES: ReadonlySet<string> = new Set(['completed', 'completed_with_errors', 'failed', 'canceled']);

/** What makes two start_import calls "the same" for an idempotency key. */
function idempotencyHash(input: StartImportInput): string {
  const { idempotency_key: _k, dry_run: _d, ...args } = input;
  const canonical = JSON.stringify(Object.keys(args).sort().map((k) => [k, (args as Record<string, unknown>)[k]]));
  return createHash('sha256').update(canonical).digest('hex');
}
const ARCHIVED_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);
/** Claims of one file after which a temporary blob store failure fails it for good. */
const BLOB_STORE_TRIES = 5;

/** A downloaded file on its way into the index (see ImportService.landBatch). */
interface Landing {
  file: ClaimedFile;
  owner: string;
  d: Downloaded;
  dedupe: boolean;
}
type Landed =
  | { lost: true } // canceled or the lease was lost before the hash was recorded: the temp file is discarded
  | { blobError: unknown } // storing the content failed: the temp file is still there
  | { committed: { status: 'ready' | 'deduped'; duplicate_of: string | null } | null }
  | { commitError: Error };
/** How long start_import lists before it answers (the rest of the listing continues in the background). */
const FIRST_LISTING_MS = 2000;
const FIRST_LISTING_FILES = 1000;

/** Why a connector that is not ACTIVE does no more import work: "connector FAILED: <last_error>". */
function inactiveReason(c: ConnectorRow): string {
  const why = c.last_error ?? (c.status === 'SUSPENDED' ? 'suspended with update_connector' : c.status === 'ARCHIVED' ? 'archived' : 'see get_connector');
  return `connector ${c.status}: ${why}`.slice(0, 1000);
}

/** Failures that say the connector's credentials or rights are wrong, not this one file. */
function isCredentialFailure(e: CloudportError): boolean {
  return e.kind === 'permission_denied' || (e.field?.startsWith('credentials') ?? false);
}

/**
 * Unchanged files (new_only) a job keeps one row each for, so import_status {files_status: "skipped"}
 * shows examples; the rest are only counted, in the job's listing state (a re-import of 100,000
 * unchanged objects writes 100,000 fewer rows). An automation's finished runs are compacted the same way.
 */
const SKIPPED_ROWS_KEPT = 100;

/** What the listing of a job carries from page to page: the next token, and the skipped files kept and counted. */
interface ListingState {
  t: string | null;
  /** Skipped files stored as rows so far (up to SKIPPED_ROWS_KEPT). */
  k?: number;
  /** Skipped files counted, not stored. */
  compacted?: number;
  /** Files the listing selected so far (skipped ones included): 0 once the listing ends means nothing matched. */
  m?: number;
  /** Why a job that ended without failing did nothing (an automation's run that matched nothing). */
  none?: string;
}

function parseListingState(s: string | null): ListingState {
  try {
    const v = JSON.parse(s ?? '{"t":null}') as ListingState;
    return v && typeof v === 'object' ? v : { t: null };
  } catch {
    return { t: null };
  }
}

/** Drops the skipped files past the first SKIPPED_ROWS_KEPT of the job, counting them in `state`. */
function countSkipped(files: ListedFile[], state: ListingState): ListedFile[] {
  let kept = state.k ?? 0;
  let counted = 0;
  const out = files.filter((f) => {
    if (f.status !== 'skipped') return true;
    if (kept < SKIPPED_ROWS_KEPT) {
      kept++;
      return true;
    }
    counted++;
    return false;
  });
  state.k = kept;
  if (counted) state.compacted = (state.compacted ?? 0) + counted;
  return out;
}

/** Counts with the skipped files a job keeps as a number rather than one row each (countSkipped, compactAutomationRuns). */
function withCompacted(job: JobRow, counts: FileCounts): FileCounts {
  const n = Number(parseListingState(job.listing_state).compacted ?? 0);
  return n > 0 ? { ...counts, skipped: counts.skipped + n } : counts;
}

/** The parts of a job's parameters that select objects from a listing. */
function selectionOf(p: JobParams): Selection {
  return {
    prefix: p.prefix,
    pattern: p.pattern,
    ...(p.exclude ? { exclude: p.exclude } : {}),
    ...(p.min_size !== undefined ? { min_size: p.min_size } : {}),
    ...(p.max_size !== undefined ? { max_size: p.max_size } : {}),
    ...(p.modified_after ? { modified_after: p.modified_after } : {}),
  };
}

export interface ImportOptions {
  retry?: RetryPolicy;
  idleTimeoutMs: number;
  leaseMs: number;
  log: Logger;
  /** Worker threads that hash and write downloads (none: the main thread does). */
  hashers?: HashWorkers;
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

  /**
   * Downloads that finish within 2 ms of each other land together (small files finish many per
   * millisecond): on SQLite with local blobs in one store transaction per batch, elsewhere in two
   * (the hash marks, then the items); it was two per file.
   */
  private readonly landings = new Batcher<Landing, Landed>((b) => this.landBatch(b), { max: 64, delayMs: 2 });

  private async landBatch(batch: Landing[]): Promise<Landed[]> {
    const now = new Date().toISOString();
    const toCommit = (l: Landing): CommitFile => ({
      fileId: l.file.id,
      owner: l.owner,
      orgId: l.file.org_id,
      connectorId: l.file.connector_id,
      index: l.file.index_name,
      key: l.file.key,
      sha256: l.d.sha256,
      size: l.d.size,
      contentType: l.d.content_type,
      etag: l.d.etag,
      version: l.d.version,
      dedupe: l.dedupe,
      now,
    });
    const out: Landed[] = new Array(batch.length);
    const place = this.store.dialect === 'sqlite' ? this.blobs.commitSync?.bind(this.blobs) : undefined;
    if (place) {
      // SQLite with local blobs: each blob is renamed into place inside the transaction that writes
      // its item, so blob GC (which also runs inside a write transaction) never sees one without the other.
      const placed = new Set<number>();
      const failed = new Map<number, unknown>();
      const tempOf = new Map(batch.map((l) => [l.file.id, l.d.tempPath]));
      const results = await this.store.commitFiles(batch.map(toCommit), (c) => {
        try {
          place(tempOf.get(c.fileId)!, c.sha256);
          placed.add(c.fileId);
        } catch (e) {
          failed.set(c.fileId, e);
          throw e;
        }
      });
      await Promise.all(
        batch.map(async (l, i) => {
          const r = results[i];
          const id = l.file.id;
          if (failed.has(id)) out[i] = { blobError: failed.get(id) };
          else if (r instanceof Error) out[i] = { commitError: r };
          else if (r) out[i] = { committed: r };
          else if (placed.has(id)) out[i] = { committed: null }; // placed, then the rows were not written: GC decides
          else {
            out[i] = { lost: true };
            await this.blobs.discard(l.d.tempPath).catch(() => undefined);
          }
        }),
      );
      return out;
    }
    const marked: boolean[] = new Array(batch.length).fill(false);
    for (const owner of new Set(batch.map((l) => l.owner))) {
      const idx = batch.flatMap((l, i) => (l.owner === owner ? [i] : []));
      const r = await this.store.markHashedMany(
        idx.map((i) => ({ fileId: batch[i]!.file.id, sha256: batch[i]!.d.sha256 })),
        owner,
      );
      idx.forEach((i, j) => (marked[i] = r[j]!));
    }
    const stored: number[] = [];
    await Promise.all(
      batch.map(async (l, i) => {
        if (!marked[i]) {
          out[i] = { lost: true };
          await this.blobs.discard(l.d.tempPath).catch(() => undefined);
          return;
        }
        try {
          await this.blobs.commit(l.d.tempPath, l.d.sha256);
          stored.push(i);
        } catch (e) {
          out[i] = { blobError: e };
        }
      }),
    );
    stored.sort((a, b) => a - b);
    const results = await this.store.commitFiles(stored.map((i) => toCommit(batch[i]!)));
    stored.forEach((i, j) => {
      const r = results[j];
      out[i] = r instanceof Error ? { commitError: r } : { committed: r ?? null };
    });
    return out;
  }

  async closeHashers(): Promise<void> {
    await this.opts.hashers?.close();
  }

  attach(engine: JobEngine): void {
    this.engine = engine;
  }

  async start(org: string, input: StartImportInput): Promise<StartImportResult> {
    if (input.retry_of) return this.retryFailed(org, input);
    if (!input.connector_id) throw invalid('connector_id', 'connector_id is required', 'Give the connector to import from (list_connectors shows them).');
    if (!input.index) throw invalid('index', 'index is required', 'Name the local index to import into, e.g. "contracts".');
    const hash = idempotencyHash(input);
    if (input.idempotency_key && !input.dry_run) {
      const earlier = await this.store.findJobByIdempotencyKey(org, input.idempotency_key);
      if (earlier) return this.replay(earlier, hash);
    }
    const c = await this.connectors.get(org, input.connector_id);
    requireUsable(c, 'import');
    const index = checkIndexName(input.index);
    if (input.keys && (input.prefix || input.pattern)) throw invalid('keys', 'give either keys or prefix/pattern, not both', 'Use keys for an explicit list, or prefix + pattern to select by listing.');
    if (input.keys && (input.exclude || input.min_size !== undefined || input.max_size !== undefined || input.modified_after)) {
      throw invalid('keys', 'exclude, min_size, max_size and modified_after filter a listing; they do not apply to explicit keys', 'Drop the filters, or select by prefix/pattern instead of keys.');
    }
    if (input.min_size !== undefined && input.max_size !== undefined && input.min_size > input.max_size) throw invalid('min_size', 'min_size is larger than max_size');
    if (input.modified_after !== undefined && Number.isNaN(Date.parse(input.modified_after))) {
      throw invalid('modified_after', `modified_after ${JSON.stringify(input.modified_after)} is not a date`, 'Use ISO 8601, e.g. "2025-01-31" or "2025-01-31T12:00:00Z".');
    }
    const params: JobParams = {
      prefix: input.prefix ?? '',
      pattern: input.pattern ?? null,
      explicit: !!input.keys,
      mode: input.import_mode ?? (c.import_mode as 'all' | 'new_only'),
      dedupe: input.dedupe ?? true,
      ...(input.exclude?.length ? { exclude: input.exclude } : {}),
      ...(input.min_size !== undefined ? { min_size: input.min_size } : {}),
      ...(input.max_size !== undefined ? { max_size: input.max_size } : {}),
      ...(input.modified_after ? { modified_after: new Date(input.modified_after).toISOString() } : {}),
    };
    return this.create(org, c, index, params, input.keys, { dryRun: !!input.dry_run, idempotencyKey: input.idempotency_key, hash, automationId: input.automation_id });
  }

  /** retry_of: a new job over the failed files of an earlier one (same connector and index unless given). */
  private async retryFailed(org: string, input: StartImportInput): Promise<StartImportResult> {
    if (input.keys || input.prefix || input.pattern) throw invalid('retry_of', 'retry_of takes the failed files of that job; do not give keys, prefix or pattern with it');
    const old = await this.getJob(org, input.retry_of!, 'retry_of');
    if (old.kind !== 'import') throw invalid('retry_of', `job ${old.id} is an ${old.kind}, not an import`, 'Retry an export\'s failed files with start_export {keys: [...]} (import_status files_status "failed" lists them).');
    if (!FINAL_STATES.has(old.status)) throw new CloudportError('conflict', `job ${old.id} is still ${old.status}`, { field: 'retry_of', fix: 'Wait until it is final (import_status), then retry its failed files.' });
    if (input.connector_id && input.connector_id !== old.connector_id) throw invalid('connector_id', `job ${old.id} imported from ${old.connector_id}; retry_of uses the same connector`);
    const keys: string[] = [];
    for (let after = 0; ; ) {
      const rows = await this.store.listJobFiles(old.id, { status: 'failed', afterId: after, limit: 1000 });
      keys.push(...rows.map((r) => r.key));
      if (rows.length < 1000) break;
      after = rows[rows.length - 1]!.id;
    }
    if (!keys.length) throw new CloudportError('conflict', `job ${old.id} has no failed files to retry`, { field: 'retry_of' });
    const params = { ...(JSON.parse(old.params) as JobParams), explicit: true, retry_of: old.id };
    const hash = idempotencyHash(input);
    if (input.idempotency_key && !input.dry_run) {
      const earlier = await this.store.findJobByIdempotencyKey(org, input.idempotency_key);
      if (earlier) return this.replay(earlier, hash);
    }
    const c = await this.connectors.get(org, old.connector_id);
    // The same checks as every other start: status (with its fix) and the import scope.
    requireUsable(c, 'import');
    const index = input.index ? checkIndexName(input.index) : old.index_name;
    return this.create(org, c, index, params, keys, { dryRun: !!input.dry_run, idempotencyKey: input.idempotency_key, hash });
  }

  private async replay(job: JobRow, hash: string): Promise<StartImportResult> {
    if (job.idempotency_hash !== hash) {
      throw new CloudportError('conflict', `idempotency_key was already used for job ${job.id} with other arguments`, {
        field: 'idempotency_key',
        fix: 'Use a new key for a different import, or repeat the original arguments to get the same job.',
      });
    }
    const p = await this.store.jobProgress(job.id);
    const failed = await this.store.listJobFiles(job.id, { status: 'failed', limit: 20 });
    const sample = await this.store.listJobFiles(job.id, { limit: 5 });
    const c = withCompacted(job, p.counts);
    return {
      job_id: job.id,
      status: job.status as JobState,
      accepted: c.pending + c.ready + c.deduped + c.failed + c.canceled,
      bytes: p.bytes_total,
      skipped: c.skipped,
      sample: sample.filter((f) => f.status !== 'skipped').map((f) => f.key),
      failed_files: failed.map((f) => ({ key: f.key, error: f.error ?? 'failed' })),
      listing_complete: job.listing_complete === 1,
      replayed: true,
    };
  }

  private async create(
    org: string,
    c: ConnectorRow,
    index: string,
    params: JobParams,
    keys: string[] | undefined,
    opts: { dryRun: boolean; idempotencyKey?: string; hash: string; automationId?: string },
  ): Promise<StartImportResult> {
    const filter = compileFilter(params.prefix, params.pattern ?? undefined, params.exclude);
    const provider = await this.pool.get(c);
    const id = newId('imp');
    const now = new Date().toISOString();
    let files: ListedFile[];
    /** Every file the first listing found, with the skipped ones countSkipped leaves out of `files`. */
    let listed: ListedFile[] | null = null;
    let state: string | null = null;
    let complete = true;
    let token: string | null = null;
    try {
      if (keys) {
        files = await this.statKeys(org, provider, keys);
      } else {
        files = [];
        const deadline = Date.now() + FIRST_LISTING_MS;
        do {
          const page = await withRetry(() => provider.list({ prefix: filter.listPrefix, token, maxKeys: 1000 }), this.retry);
          files.push(...this.select(page.objects, filter, params));
          token = page.nextToken;
        } while (token && Date.now() < deadline && files.length < FIRST_LISTING_FILES);
        complete = token === null;
      }
      files = await this.applyMode(files, params, org, c.id, index);
      if (!keys) {
        const st: ListingState = { t: token, m: files.length };
        listed = files;
        files = countSkipped(files, st);
        state = JSON.stringify(st);
      }
    } catch (e) {
      const err = asCloudportError(e);
      if (!opts.dryRun) await this.store.recordHealth(org, c.id, { ok: false, error: `import listing failed: ${err.message}`, failAfter: FAIL_AFTER, now });
      throw err;
    }
    // A complete listing that selected nothing is never a silent success: start_import answers not_found
    // with hints and creates no job; a dry run says so in `hint`; an automation's run is a job that ends
    // with the reason (a watched folder that is empty now is not an error of the automation).
    let none: string | null = null;
    if (listed && listed.length === 0 && complete) {
      const why = await explainNoMatch(provider, selectionOf(params));
      if (!opts.dryRun && !opts.automationId) throw noMatchError(why);
      none = noMatchText(why);
      if (!opts.dryRun) state = JSON.stringify({ ...(JSON.parse(state!) as ListingState), none });
    }
    const accepted = files.filter((f) => !f.status);
    const result: StartImportResult = {
      job_id: opts.dryRun ? null : id,
      status: opts.dryRun ? null : 'queued',
      accepted: accepted.length,
      bytes: accepted.reduce((n, f) => n + (f.size ?? 0), 0),
      skipped: (listed ?? files).filter((f) => f.status === 'skipped').length,
      sample: accepted.slice(0, 5).map((f) => f.key),
      failed_files: files
        .filter((f) => f.status === 'failed')
        .slice(0, 20)
        .map((f) => ({ key: f.key, error: f.error ?? 'failed' })),
      listing_complete: complete,
      ...(none ? { hint: none } : {}),
    };
    if (opts.dryRun) return result;
    try {
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
          idempotency_key: opts.idempotencyKey ?? null,
          idempotency_hash: opts.idempotencyKey ? opts.hash : null,
          automation_id: opts.automationId ?? null,
        },
        files,
      );
    } catch (e) {
      // Two calls with one idempotency key raced: the other one created the job.
      const earlier = opts.idempotencyKey ? await this.store.findJobByIdempotencyKey(org, opts.idempotencyKey) : null;
      if (earlier) return this.replay(earlier, opts.hash);
      throw e;
    }
    await this.log(org, id, c.id, 'info', null, `import started into index ${index}: ${accepted.length} files queued${complete ? '' : ' so far (listing continues)'}${params.retry_of ? ` (retry of ${params.retry_of})` : ''}${opts.automationId ? ` by automation ${opts.automationId}` : ''}${none ? `; ${none}` : ''}`);
    this.engine?.wake();
    return result;
  }

  /** Explicit keys: one HEAD each (bounded concurrency) for size and version; missing keys fail at once. */
  private async statKeys(org: string, provider: StorageProvider, keys: string[]): Promise<ListedFile[]> {
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
          out[i] = { key, size: null, etag: null, version: null, status: 'failed', error: redact(err.message, org) };
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

  private select(objects: ObjectInfo[], filter: KeyFilter, params: JobParams): ListedFile[] {
    const out: ListedFile[] = [];
    for (const o of objects) {
      if (!filter.matches(o.key)) continue;
      if (params.min_size !== undefined && o.size < params.min_size) continue;
      if (params.max_size !== undefined && o.size > params.max_size) continue;
      if (params.modified_after && (!o.last_modified || o.last_modified <= params.modified_after)) continue;
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
      kind: job.kind as JobKind,
      connector_id: job.connector_id,
      index: job.index_name,
      automation_id: job.automation_id ?? null,
      status: job.status as JobState,
      counts: job.kind === 'export' ? exportCounts(withCompacted(job, progress.counts)) : withCompacted(job, progress.counts),
      bytes_done: progress.bytes_done,
      bytes_total: progress.bytes_total,
      listing_complete: job.listing_complete === 1,
      reason: job.error ?? parseListingState(job.listing_state).none ?? null,
      created_at: job.created_at,
      started_at: job.started_at,
      finished_at: job.finished_at,
    };
    const warning = FINAL_STATES.has(job.status) ? null : await this.engine?.health.warning();
    if (warning) out.warning = warning;
    if (opts.files_status) {
      const q = { j: job.id, s: opts.files_status };
      const cur = decodeCursor<{ after: number }>(opts.cursor, q);
      const status = opts.files_status === 'all' ? undefined : (storeFileState(job.kind, opts.files_status) as FileState);
      const rows = await this.store.listJobFiles(job.id, { status, afterId: cur?.after, limit: opts.limit + 1 });
      const more = rows.length > opts.limit;
      if (more) rows.pop();
      out.files = rows.map((r) => {
        const f: NonNullable<ImportStatus['files']>[number] = { key: r.key, status: shownFileState(job.kind, r.status) as FileState };
        if (r.size !== null) f.size = r.size;
        const path = exportPathOf(job, r.key, r.sha256 ?? r.version);
        if (path && r.status !== 'failed') f.path = path;
        if (r.error && r.status !== 'ready' && r.status !== 'deduped') f.error = r.error;
        if (r.duplicate_of !== null) f.duplicate_of = r.duplicate_of;
        return f;
      });
      out.next_cursor = more ? encodeCursor({ after: rows[rows.length - 1]!.id }, q) : null;
    }
    return out;
  }

  /**
   * Long poll: answers as soon as the job's status or counts differ from when the call started, or
   * when `seconds` pass, or when the caller goes away. Changes made by other processes are seen by
   * polling the store; changes in this process wake it at once.
   */
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
    if (seconds <= 0 || FINAL_STATES.has(first.status) || signal.aborted) return first;
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
          if (force || FINAL_STATES.has(s.status)) finish(s);
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
    });
  }

  async list(
    org: string,
    opts: { connector_id?: string; index?: string; status?: string; automation_id?: string; kind?: string; cursor?: string; limit: number },
  ): Promise<{ imports: ImportSummary[]; next_cursor: string | null }> {
    const q = { c: opts.connector_id ?? null, i: opts.index ?? null, s: opts.status ?? null, ...(opts.automation_id ? { a: opts.automation_id } : {}), ...(opts.kind ? { k: opts.kind } : {}) };
    // The cursor holds the last row's (created_at, id): list order is creation time, newest first, across imports and exports.
    const cur = decodeCursor<{ at: string; before: string }>(opts.cursor, q);
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
    const more = rows.length > opts.limit;
    if (more) rows.pop();
    const progress = await this.store.jobsProgress(rows.map((r) => r.id));
    return {
      imports: rows.map((r) => ({
        job_id: r.id,
        kind: r.kind as JobKind,
        connector_id: r.connector_id,
        index: r.index_name,
        automation_id: r.automation_id ?? null,
        status: r.status as JobState,
        counts: r.kind === 'export' ? exportCounts(withCompacted(r, progress.get(r.id)!.counts)) : withCompacted(r, progress.get(r.id)!.counts),
        created_at: r.created_at,
        finished_at: r.finished_at,
      })),
      next_cursor: more ? encodeCursor({ at: rows[rows.length - 1]!.created_at, before: rows[rows.length - 1]!.id }, q) : null,
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
    const cur = decodeCursor<{ after: number }>(opts.cursor, q);
    const rows = await this.store.listLogs(org, { connectorId: opts.connector_id, jobId: opts.job_id, afterId: cur?.after, limit: opts.limit + 1 });
    const more = rows.length > opts.limit;
    if (more) rows.pop();
    return {
      entries: rows.map((r) => ({ time: r.time, level: r.level, job_id: r.job_id, ...(r.key !== null ? { key: r.key } : {}), message: r.message })),
      next_cursor: more ? encodeCursor({ after: rows[rows.length - 1]!.id }, q) : null,
    };
  }

  async cancel(org: string, jobId: string): Promise<ImportStatus> {
    await this.getJob(org, jobId);
    await this.store.cancelJob(org, jobId, new Date().toISOString());
    this.engine?.abortJob(jobId);
    this.engine?.notify(jobId);
    return this.status(org, jobId, { limit: 0 });
  }

  private async getJob(org: string, jobId: string, field = 'job_id'): Promise<JobRow> {
    const job = await this.store.getJob(org, jobId);
    if (!job) throw notFound('job', jobId, field, 'Check the job_id returned by start_import or start_export (list_imports finds jobs).');
    return job;
  }

  private async log(org: string, jobId: string, connectorId: string, level: string, key: string | null, message: string) {
    await this.store.addLog({ org_id: org, job_id: jobId, connector_id: connectorId, level, key, message: redact(message, org), time: new Date().toISOString() });
  }

  // ---- job handlers (run by the engine in the background) ----

  async listNext(job: JobRow, owner: string, signal: AbortSignal): Promise<void> {
    const params = JSON.parse(job.params) as JobParams;
    const filter = compileFilter(params.prefix, params.pattern ?? undefined, params.exclude);
    const st = parseListingState(job.listing_state);
    let token = st.t;
    try {
      const c = await this.connectors.get(job.org_id, job.connector_id);
      if (c.status !== 'ACTIVE') throw new CloudportError('conflict', inactiveReason(c));
      const provider = await this.pool.get(c);
      for (;;) {
        const page = await withRetry(() => provider.list({ prefix: filter.listPrefix, token, maxKeys: 1000, signal }), this.retry, signal);
        const selected = await this.applyMode(this.select(page.objects, filter, params), params, job.org_id, job.connector_id, job.index_name);
        if (st.m !== undefined) st.m += selected.length;
        const files = countSkipped(selected, st);
        token = page.nextToken;
        st.t = token;
        // The listing ended and nothing matched in all of it (jobs from before `m` was kept are not judged).
        if (token === null && st.m === 0 && !signal.aborted) {
          const reason = noMatchText(await explainNoMatch(provider, selectionOf(params), signal));
          if (job.automation_id) st.none = reason;
          else {
            // As start_import answers it when its first look finds nothing: the job fails with the reason.
            await this.store.failListing(job.id, owner, reason, new Date().toISOString());
            await this.log(job.org_id, job.id, job.connector_id, 'error', null, reason);
            this.engine?.wake();
            return;
          }
          await this.log(job.org_id, job.id, job.connector_id, 'info', null, reason);
        }
        const kept = await this.store.appendListing(job.id, owner, files, JSON.stringify(st), token === null, this.opts.leaseMs);
        this.engine?.wake();
        if (!kept || token === null || signal.aborted) return;
      }
    } catch (e) {
      if (signal.aborted) return;
      // A full store is not the listing's fault: its lease runs out and the listing resumes from its cursor later.
      if (this.engine?.health.report(e)) return;
      const err = asCloudportError(e);
      await this.store.failListing(job.id, owner, `listing failed: ${redact(err.message, job.org_id)}`, new Date().toISOString());
      await this.log(job.org_id, job.id, job.connector_id, 'error', null, `listing failed: ${err.message}`);
    }
  }

  /** Connector rows for the import workers, kept for a second (updates change updated_at, which the pool keys on). */
  private readonly connectorCache = new Map<string, { row: ConnectorRow | null; until: number }>();

  private async connectorFor(org: string, id: string): Promise<ConnectorRow | null> {
    const hit = this.connectorCache.get(id);
    if (hit && hit.until > Date.now()) return hit.row;
    const row = await this.store.getConnector(org, id);
    this.connectorCache.set(id, { row, until: Date.now() + 1000 });
    return row;
  }

  async processFile(file: ClaimedFile, owner: string, signal: AbortSignal): Promise<void> {
    const params = JSON.parse(file.params) as JobParams;
    let c = await this.connectorFor(file.org_id, file.connector_id);
    if (c && c.status !== 'ACTIVE') {
      // Before failing work on a cached status, make sure it still holds (a fixed connector is ACTIVE again).
      c = await this.store.getConnector(file.org_id, file.connector_id);
      this.connectorCache.set(file.connector_id, { row: c, until: Date.now() + 1000 });
    }
    if (!c) {
      await this.store.failFile(file.id, owner, 'the connector was deleted', null);
      return;
    }
    // A FAILED / SUSPENDED / ARCHIVED connector's pending files end at once, without a request.
    if (c.status !== 'ACTIVE') {
      await this.store.failFile(file.id, owner, inactiveReason(c), null);
      return;
    }
    let temp: string | null = null;
    try {
      const provider = await this.pool.get(c);
      const d = await downloadObject(provider, this.blobs, file.key, {
        retry: this.retry,
        idleTimeoutMs: this.opts.idleTimeoutMs,
        signal,
        hashers: this.opts.hashers,
        onRetry: (err, attempt) => this.opts.log.debug('retrying download', { job_id: file.job_id, attempt, error: err.message }),
      });
      temp = d.tempPath;
      const landed = await this.landings.push({ file, owner, d, dedupe: params.dedupe });
      if ('lost' in landed) {
        temp = null;
        return; // canceled or lease lost meanwhile
      }
      if ('blobError' in landed) {
        // The blob store's trouble is not the connector's: it never counts against its credentials, and
        // a temporary one (a shared S3 blob store briefly unreachable) sends the file back for a later try.
        const err = asCloudportError(landed.blobError);
        if (err.temporary && !signal.aborted && file.attempts < BLOB_STORE_TRIES) {
          await this.blobs.discard(d.tempPath).catch(() => undefined);
          await this.store.failFile(file.id, owner, `blob store: ${redact(err.message, file.org_id)}`, Date.now() + 2000 * file.attempts);
          this.opts.log.warn('storing the content failed; the file is tried again later', { job_id: file.job_id, attempt: file.attempts, error: redact(err.message, file.org_id) });
          return;
        }
        throw new CloudportError('unexpected', `storing the content failed: ${err.message}`, { field: 'blob_store', fix: err.fix ?? 'Check the blob store (--blob-store) and import again (start_import retry_of).' });
      }
      temp = null;
      if ('commitError' in landed) throw landed.commitError;
      const res = landed.committed;
      if (res) this.engine?.health.ok();
      if (!res) await this.store.gcBlobs([d.sha256], gcUnlink(this.blobs));
      // A success ends a run of credential failures (it does not revive a FAILED connector).
      else if (c.consecutive_failures > 0) await this.connectorHealth(file, c, { ok: true });
    } catch (e) {
      if (temp) await this.blobs.discard(temp).catch(() => undefined);
      if (signal.aborted) return;
      if (this.engine?.health.report(e)) {
        // The store is full, not the file at fault: it goes back to pending (the attempt does not count)
        // and is tried again after a pause; the job says why in import_status, the log once a minute.
        const note = `store full: ${redact((e as Error).message, file.org_id)}; tried again when space is freed`;
        await this.store.deferFile(file.id, owner, Date.now() + this.engine.health.retryMs, note).catch((e2) => this.engine.health.report(e2) || this.opts.log.warn('handing a file back failed; its lease runs out instead', { job_id: file.job_id, error: (e2 as Error).message }));
        return;
      }
      const err = asCloudportError(e);
      const message = redact(err.message, file.org_id);
      await this.store.failFile(file.id, owner, message, null);
      await this.log(file.org_id, file.job_id, file.connector_id, 'error', file.key, message);
      if (isCredentialFailure(err)) await this.connectorHealth(file, c, { ok: false, error: `import ${file.job_id}: ${message}` });
    }
  }

  /**
   * Credential-level failures (rejected keys or signatures, expired tokens, clock skew, permission
   * denied) count toward the connector's consecutive_failures as they happen, so a connector whose
   * credentials broke goes FAILED after FAIL_AFTER of them and its pending work stops.
   */
  private async connectorHealth(file: ClaimedFile, c: ConnectorRow, o: { ok: boolean; error?: string }): Promise<void> {
    const fresh = await this.store.getConnector(file.org_id, file.connector_id);
    if (!fresh || fresh.status !== 'ACTIVE' || (o.ok && fresh.consecutive_failures === 0)) {
      this.connectorCache.set(file.connector_id, { row: fresh, until: Date.now() + 1000 });
      return;
    }
    const row = await this.store.recordHealth(file.org_id, file.connector_id, { ...o, failAfter: FAIL_AFTER, now: new Date().toISOString() });
    this.connectorCache.set(file.connector_id, { row, until: Date.now() + 1000 });
    if (row && row.status === 'FAILED' && c.status === 'ACTIVE') {
      await this.log(file.org_id, file.job_id, file.connector_id, 'error', null, `connector ${row.id} is FAILED after ${row.consecutive_failures} consecutive failures; its pending files fail: ${row.last_error ?? ''}`);
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
    const conn = await this.store.getConnector(job.org_id, job.connector_id);
    // Credential failures of this job's files were counted as they happened; the job does not count
    // them again. A job that ends while its connector is not ACTIVE does not revive it either.
    if (!conn || conn.status !== 'ACTIVE' || conn.last_error?.startsWith(`import ${job.id}: `)) return;
    // A selection that matched nothing says nothing about the connector's health.
    if (job.error?.startsWith(NO_MATCH)) return;
    if (job.status === 'failed') {
      await this.store.recordHealth(job.org_id, job.connector_id, { ok: false, error: `import ${job.id} failed: ${job.error ?? 'no file succeeded'}`, failAfter: FAIL_AFTER, now });
    } else if (job.status === 'completed' || job.status === 'completed_with_errors') {
      await this.store.recordHealth(job.org_id, job.connector_id, { ok: true, synced: true, failAfter: FAIL_AFTER, now });
    }
  }
}
