import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { CloudportError, asCloudportError, invalid, isObjectExists } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Logger } from '../../../shared/log.js';
import { redact } from '../../../shared/redact.js';
import type { BlobStore } from '../../../store/blobs.js';
import { lapsedBefore, type ClaimedFile, type ItemRow, type JobRow, type JobState, type ListedFile, type Store } from '../../../store/types.js';
import type { JobEngine, JobHandlers } from '../engine.js';
import { getProvider } from '../../../providers/index.js';
import type { ObjectInfo, StorageProvider } from '../../../providers/types.js';
import { requireUsable, type ConnectorService } from '../../connectors/service.js';
import type { ProviderPool } from '../../connectors/provider-pool.js';
import { requireIndex } from '../../domain/index-names.js';
import { DEFAULT_RETRY, THROTTLE_FACTOR, withRetry, type RetryPolicy } from '../../domain/retry.js';
import { explainNoItems, noMatchError, noMatchText } from '../../domain/nomatch.js';
import { blobReadError } from '../../domain/blob-read.js';
import { ConnectorCache, recordJobOutcome } from '../../connectors/health.js';
import { exportCounts } from '../kinds.js';
import { checkReplay, earlierJob, idempotencyHash } from '../idempotency.js';
import { FIRST_LISTING_FILES, FIRST_LISTING_MS, countFileOutcome, failedSample, fileConnector, jobLog, newJobRow, startLine } from '../common.js';
import { DEFAULT_TEMPLATE, checkTemplate, exportPathOf, targetFor, type ExportParams, type OverwriteMode } from './paths.js';
import { parseListingState } from '../listing-state.js';

export { OVERWRITE_MODES } from './paths.js';

/**
 * Exports: index content written back to a bucket under the connector's export_base_path, as
 * durable jobs (kind "export") of the same engine and state model as imports. A file ends in the
 * store state `ready` (shown as "exported"; also a file tried again whose target already holds its
 * exact content), `skipped` (the object exists and the overwrite rule keeps it), `failed`
 * or `canceled`. Target paths are checked before anything is written.
 */

/** Bodies up to this size are read into memory and sent in one request; larger ones stream (multipart / blocks). */
const SINGLE_WRITE_MAX = 8 * 1024 * 1024;

export interface StartExportInput {
  index?: string;
  connector_id?: string;
  keys?: string[];
  prefix?: string;
  path_template?: string;
  overwrite?: OverwriteMode;
  dry_run?: boolean;
  idempotency_key?: string;
  /** Set by the automation scheduler (not a tool input). */
  automation_id?: string;
}

export interface StartExportResult {
  job_id: string | null;
  status: JobState | null;
  accepted: number;
  bytes: number;
  sample: { key: string; path: string }[];
  /** Files refused or failed (at listing, or since for an existing job): all counted, the first 20 in failed_files. */
  failed: number;
  /** Items left out at listing: same content as an earlier key under a {sha256} path, which one object holds. */
  skipped?: number;
  failed_files: { key: string; error: string }[];
  listing_complete: boolean;
  replayed?: boolean;
  /** Set when the prefix selected no item (a dry run, or an automation's run): why, with hints. */
  hint?: string;
}


export interface ExportOptions {
  retry?: RetryPolicy;
  leaseMs: number;
  log: Logger;
}

export class ExportService implements JobHandlers {
  private engine?: JobEngine;
  /** For a file's calls, in the background: throttling has its larger budget there. */
  private readonly background: RetryPolicy;
  private readonly cache: ConnectorCache;

  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly pool: ProviderPool,
    private readonly connectors: ConnectorService,
    private readonly opts: ExportOptions,
  ) {
    this.background = { ...(opts.retry ?? DEFAULT_RETRY), throttleFactor: THROTTLE_FACTOR };
    // The connector service's own cache: an update_connector is seen by the next file at once.
    this.cache = connectors.cache;
  }

  attach(engine: JobEngine): void {
    this.engine = engine;
  }

  async start(org: string, input: StartExportInput): Promise<StartExportResult> {
    if (!input.connector_id) throw invalid('connector_id', 'connector_id is required', 'Give a connector with the export scope (list_connectors shows them).');
    if (!input.index) throw invalid('index', 'index is required', 'Name the local index to export (list_indexes shows them).');
    const hash = idempotencyHash('export', input);
    const earlier = await earlierJob(this.store, org, input.idempotency_key, input.dry_run);
    if (earlier) return this.replay(earlier, hash);
    const c = await this.connectors.get(org, input.connector_id);
    requireUsable(c, 'export');
    const provider = await this.pool.get(c);
    if (!provider.capabilities.write) throw new CloudportError('unsupported', `provider ${c.provider} cannot write`, { field: 'connector_id' });
    const index = input.index;
    await requireIndex(this.store, org, index, 'index', 'list_indexes shows the indexes that exist.');
    if (input.keys && input.prefix) throw invalid('keys', 'give either keys or prefix, not both', 'Drop prefix to export exactly these keys, or drop keys to export every item under the prefix.');
    const params: ExportParams = {
      kind: 'export',
      prefix: input.prefix ?? '',
      explicit: !!input.keys,
      template: checkTemplate(input.path_template ?? DEFAULT_TEMPLATE),
      overwrite: input.overwrite ?? 'never',
      base: c.export_base_path,
    };

    let files: ListedFile[];
    let complete = true;
    let after: string | null = null;
    let missing = 0;
    if (input.keys) {
      files = [];
      for (const key of new Set(input.keys)) {
        const item = await this.store.getItem(org, index, key);
        if (!item) missing++;
        files.push(item ? this.listed(params, index, item) : { key, size: null, etag: null, version: null, status: 'failed', error: `not in index ${index}` });
      }
    } else {
      files = [];
      const deadline = Date.now() + FIRST_LISTING_MS;
      for (;;) {
        const rows = await this.store.listItems(org, index, { prefix: params.prefix || undefined, ...(after !== null ? { after } : {}), limit: 1000 });
        files.push(...rows.map((r) => this.listed(params, index, r)));
        after = rows.length ? rows[rows.length - 1]!.key : after;
        if (rows.length < 1000) break;
        if (Date.now() >= deadline || files.length >= FIRST_LISTING_FILES) {
          complete = false;
          break;
        }
      }
    }
    this.refuseSharedPaths(params, index, files, getProvider(c.provider).samePath);
    // A prefix that selects no item is answered as start_import answers an empty selection: not_found with
    // hints and no job; a dry run says so in `hint`; an automation's run is a job that ends with the reason.
    // (A listing that continues in the background has found 1000 items already: it never ends empty.)
    let none: string | null = null;
    if (!input.keys && files.length === 0) {
      const why = await explainNoItems(this.store, org, index, params.prefix);
      if (!input.dry_run && !input.automation_id) throw noMatchError(why);
      none = noMatchText(why);
    }
    const accepted = files.filter((f) => !f.status);
    // Nothing to write (keys not in the index, paths that would escape or break the export base): no job,
    // as for an empty selection; the dry run lists each refusal. A listing still going on may accept
    // later items.
    if (!input.dry_run && !input.automation_id && complete && files.length > 0 && accepted.length === 0) {
      if (missing === files.length) {
        throw new CloudportError('not_found', `none of the ${missing} key(s) is an item of index ${index}`, { field: 'keys', fix: 'list_index_items {index} shows its keys (exact, case-sensitive).' });
      }
      const refused = files.find((f) => f.error && !f.error.startsWith('not in index'))!;
      throw new CloudportError('config_invalid', `none of the ${files.length} selected item(s) can be written${missing ? ` (${missing} not in the index)` : ''}: ${refused.key}: ${refused.error}`, {
        field: 'path_template',
        fix: 'start_export {dry_run: true} lists every refusal; a path_template such as "{sha256}{ext}" writes names that do not come from the keys.',
      });
    }
    const result: StartExportResult = {
      job_id: input.dry_run ? null : newId('exp'),
      status: input.dry_run ? null : 'queued',
      accepted: accepted.length,
      bytes: accepted.reduce((n, f) => n + (f.size ?? 0), 0),
      sample: accepted.slice(0, 5).map((f) => ({ key: f.key, path: (targetFor(params, f.key, index, f.version!) as { path: string }).path })),
      failed: files.filter((f) => f.status === 'failed').length,
      ...(files.some((f) => f.status === 'skipped') ? { skipped: files.filter((f) => f.status === 'skipped').length } : {}),
      failed_files: failedSample(files),
      listing_complete: complete,
      ...(none ? { hint: none } : {}),
    };
    if (input.dry_run) return result;
    const now = new Date().toISOString();
    try {
      await this.store.createJob(
        newJobRow({
          id: result.job_id!,
          org,
          kind: 'export',
          connectorId: c.id,
          index,
          params,
          listingState: complete ? (none ? JSON.stringify({ after: null, none }) : null) : JSON.stringify({ after }),
          complete,
          now,
          idempotencyKey: input.idempotency_key,
          hash,
          automationId: input.automation_id,
        }),
        files,
        startLine(org, `export started from index ${index} to ${params.base || '(bucket root)'}: ${accepted.length} files queued${complete ? '' : ' so far (listing continues)'}, overwrite ${params.overwrite}${none ? `; ${none}` : ''}`),
      );
    } catch (e) {
      const earlier = input.idempotency_key ? await this.store.findJobByIdempotencyKey(org, input.idempotency_key) : null;
      if (earlier) return this.replay(earlier, hash);
      throw e;
    }
    this.engine?.wake();
    return result;
  }

  /** A template that names items by {name} alone (no {key}, no {sha256}) can name two items alike. */
  private static byName(params: ExportParams): boolean {
    return !params.template.includes('{key}') && !params.template.includes('{sha256}');
  }

  /** A template that names items by {sha256} (no {key}) names two items of one content alike: one object holds both. */
  private static byContent(params: ExportParams): boolean {
    return !params.template.includes('{key}') && params.template.includes('{sha256}');
  }

  /**
   * Two items can render one object: by a template that names them by {name} alone (a/x.txt and b/x.txt
   * as "flat/x.txt"), or by two paths the provider reads as one (`samePath`: Drive's "50% off.txt" and
   * "50%25 off.txt"). The later one in key order fails, saying so, rather than both counting as exported
   * while the bucket keeps one. `seen` maps the objects of the export's files listed so far to their
   * keys, across listing pages.
   */
  private refuseSharedPaths(params: ExportParams, index: string, files: ListedFile[], samePath: ((p: string) => string) | undefined, seen = new Map<string, string>()): ListedFile[] {
    const byName = ExportService.byName(params);
    const byContent = ExportService.byContent(params);
    if (!byName && !byContent && !samePath) return files;
    for (const f of files) {
      if (f.status) continue;
      const t = targetFor(params, f.key, index, f.version!);
      if ('error' in t) continue;
      const object = samePath ? samePath(t.path) : t.path;
      const other = seen.get(object);
      if (other === undefined) seen.set(object, f.key);
      // The same path by {sha256}: the same bytes, which the other key's write puts there; one object, one export.
      else if (byContent) Object.assign(f, { status: 'skipped', error: `same content as ${other}, which this export writes to ${t.path}` });
      else if (byName) Object.assign(f, { status: 'failed', error: `its path ${t.path} is also ${other}'s in this export: put {key} in path_template to keep them apart` });
      else Object.assign(f, { status: 'failed', error: `its path ${t.path} names the same file as ${other}'s in this export (the provider reads both names as one; on google_drive "%25" in a key stands for "%"): put {sha256} in path_template, or export one of them alone` });
    }
    return files;
  }

  /**
   * The paths of a job's files listed before this listing call (by start_export, or by a listing call
   * that stopped: a restart, a lost lease), for refuseSharedPaths. Files refused at listing (never
   * claimed) hold no path.
   */
  private async listedPaths(job: JobRow, params: ExportParams, samePath: ((p: string) => string) | undefined): Promise<Map<string, string>> {
    const seen = new Map<string, string>();
    if (!ExportService.byName(params) && !ExportService.byContent(params) && !samePath) return seen;
    for (let afterId: number | undefined; ; ) {
      const rows = await this.store.listJobFiles(job.id, { ...(afterId !== undefined ? { afterId } : {}), limit: 1000 });
      for (const f of rows) {
        if ((f.status === 'failed' && f.attempts === 0) || !f.version) continue;
        const t = targetFor(params, f.key, job.index_name, f.version);
        const object = 'path' in t ? (samePath ? samePath(t.path) : t.path) : null;
        if (object !== null && !seen.has(object)) seen.set(object, f.key);
      }
      if (rows.length < 1000) return seen;
      afterId = rows[rows.length - 1]!.id;
    }
  }

  private listed(params: ExportParams, index: string, item: ItemRow): ListedFile {
    const t = targetFor(params, item.key, index, item.sha256);
    const f: ListedFile = { key: item.key, size: item.size, etag: null, version: item.sha256 };
    if ('error' in t) {
      f.status = 'failed';
      f.error = t.error;
    }
    return f;
  }

  private async replay(job: JobRow, hash: string): Promise<StartExportResult> {
    checkReplay(job, hash, 'export');
    const p = await this.store.jobProgress(job.id);
    const failed = await this.store.listJobFiles(job.id, { status: 'failed', limit: 1000 });
    const sample = await this.store.listJobFiles(job.id, { limit: 5 });
    const c = p.counts;
    // Files refused or left out at listing (never claimed) were not accepted; files that failed or were
    // skipped later were (the first answer counted those left out as `skipped`).
    const refused = failed.filter((f) => f.attempts === 0).length;
    let leftOut = Number(parseListingState(job.listing_state).compacted ?? 0);
    for (let after: number | undefined; ; ) {
      const rows = await this.store.listJobFiles(job.id, { status: 'skipped', ...(after !== undefined ? { afterId: after } : {}), limit: 1000 });
      leftOut += rows.filter((f) => f.attempts === 0).length;
      if (rows.length < 1000) break;
      after = rows[rows.length - 1]!.id;
    }
    return {
      job_id: job.id,
      status: job.status as JobState,
      accepted: c.pending + c.ready + c.skipped + c.failed + c.canceled - refused - leftOut,
      ...(leftOut ? { skipped: leftOut } : {}),
      bytes: p.bytes_total,
      sample: sample.filter((f) => f.status !== 'failed').map((f) => ({ key: f.key, path: exportPathOf(job, f.key, f.sha256 ?? f.version) ?? '' })),
      failed: c.failed,
      failed_files: failed.slice(0, 20).map((f) => ({ key: f.key, error: f.error ?? 'failed' })),
      listing_complete: job.listing_complete === 1,
      replayed: true,
    };
  }


  // ---- job handlers (run by the engine in the background) ----

  async listNext(job: JobRow, owner: string, signal: AbortSignal): Promise<void> {
    const params = JSON.parse(job.params) as ExportParams;
    let after = (JSON.parse(job.listing_state ?? '{"after":null}') as { after: string | null }).after;
    try {
      const connector = await this.store.getConnector(job.org_id, job.connector_id);
      const samePath = connector ? getProvider(connector.provider).samePath : undefined;
      const seen = await this.listedPaths(job, params, samePath);
      for (;;) {
        const rows = await this.store.listItems(job.org_id, job.index_name, { prefix: params.prefix || undefined, ...(after !== null ? { after } : {}), limit: 1000 });
        after = rows.length ? rows[rows.length - 1]!.key : after;
        const done = rows.length < 1000;
        const page = this.refuseSharedPaths(params, job.index_name, rows.map((r) => this.listed(params, job.index_name, r)), samePath, seen);
        const kept = await this.store.appendListing(job.id, owner, page, JSON.stringify({ after }), done, this.opts.leaseMs);
        this.engine?.wake();
        if (!kept || done || signal.aborted) return;
      }
    } catch (e) {
      if (signal.aborted) return;
      // A full store is not the listing's fault: its lease runs out and the listing resumes from its cursor later.
      if (this.engine?.health.report(e)) return;
      const err = asCloudportError(e);
      await this.store.failListing(job.id, owner, `listing failed: ${redact(err.message, job.org_id)}`, new Date().toISOString());
      await jobLog(this.store, job.org_id, job.id, job.connector_id, 'error', null, `listing the index failed: ${err.message}`);
    }
  }


  async processFile(file: ClaimedFile, owner: string, signal: AbortSignal): Promise<void> {
    const params = JSON.parse(file.params) as ExportParams;
    const fail = async (message: string) => {
      await this.store.failFile(file.id, owner, message, null);
      await jobLog(this.store, file.org_id, file.job_id, file.connector_id, 'error', file.key, message);
    };
    const usable = await fileConnector(this.cache, file);
    if ('refused' in usable) return fail(usable.refused);
    const { c } = usable;
    const item = await this.store.getItem(file.org_id, file.index_name, file.key);
    if (!item) return fail(`the item is no longer in index ${file.index_name}`);
    const t = targetFor(params, item.key, file.index_name, item.sha256);
    if ('error' in t) return fail(t.error);
    // Recording the hash on the pending file keeps blob GC away from this content while it is sent.
    if (!(await this.store.markHashed(file.id, owner, item.sha256))) return;
    try {
      const provider = await this.pool.get(c);
      if (params.overwrite !== 'always') {
        const existing = await this.statTarget(provider, t.path, signal);
        // A document the store converts when read (a Google Doc) is never written over, whatever the mode.
        if (existing?.exported) return fail(`${t.path} is a Google document, which the store converts when read (to ${existing.exported}); cloudport does not overwrite those: give another path_template or export_base_path`);
        if (existing && (params.overwrite === 'never' || existing.sha256 === item.sha256)) {
          // A file tried before whose target now holds exactly its content counts as exported: most often
          // the earlier attempt wrote it and its answer was lost; either way the content is where this
          // export puts it. Tried before: an earlier attempt failed or its process died (lapsedBefore, which
          // also covers a death whose attempt was refunded), or an earlier attempt recorded this content's
          // hash on the file, which a clean stop that refunds the attempt keeps.
          const own = (file.attempts > 1 || lapsedBefore(file) || file.sha256 === item.sha256) && existing.sha256 === item.sha256;
          await this.store.completeFile(file.id, owner, { status: own ? 'ready' : 'skipped', sha256: item.sha256, size: item.size, note: skippedNote(params.overwrite, existing.sha256 === item.sha256) });
          return;
        }
      }
      const small = item.size <= SINGLE_WRITE_MAX;
      let whole: Buffer | null;
      let md5: string;
      try {
        whole = small ? await this.blobs.read(item.sha256, 0, item.size) : null;
        // The content is checked against its SHA-256 before it leaves (and its MD5 computed for the provider's check).
        md5 = whole ? this.digest([whole], item.sha256) : await this.digestStream(this.blobs.stream(item.sha256), item.sha256);
      } catch (e) {
        if (signal.aborted) return;
        // Local content that is missing or unreadable is no fault of the connector (its health is not
        // charged), and is said as read_item says it: no data directory path, no blob store details.
        const err = e instanceof CloudportError && e.message.includes('(local corruption)') ? e : blobReadError(e, item.key, this.opts.log);
        return fail(redact(err.message, file.org_id) + (err.fix ? ` (${err.fix})` : ''));
      }
      // A create-only write that finds the object there (written since the stat) ends the file skipped: an
      // answer of the callback, not an error thrown through withRetry, which would make it "unexpected".
      // Found by a write tried again, the object may be the earlier try's, whose answer was lost: `retried`.
      let tries = 0;
      const outcome = await withRetry(
        async () => {
          if (signal.aborted) throw signal.reason;
          tries++;
          // A stream's errors have a listener before any provider reads it, and each attempt's
          // stream is released when the attempt ends (a failed write may leave it unread).
          const body = whole ?? this.blobs.stream(item.sha256).on('error', () => undefined);
          try {
            await provider.write(t.path, body, {
              contentType: item.content_type,
              size: item.size,
              sha256: item.sha256,
              md5,
              ifAbsent: params.overwrite === 'never',
              signal,
            });
            return 'written' as const;
          } catch (e) {
            // Only the provider's "already exists" means there is an object to keep; any other conflict
            // (a file where a folder of the path should be, a folder or a shortcut at the path) fails the file.
            if (params.overwrite === 'never' && isObjectExists(e)) return tries > 1 ? ('retried' as const) : ('exists' as const);
            throw e;
          } finally {
            if (!Buffer.isBuffer(body)) body.destroy();
          }
        },
        this.background,
        signal,
        (err, attempt) => this.opts.log.debug('retrying export write', { job_id: file.job_id, attempt, error: err.message }),
      );
      // An object found by a write tried again counts as exported when it holds exactly the item's content
      // (as the stat before the write judges a file tried before).
      const ours =
        outcome === 'written' ||
        (outcome === 'retried' && (await this.statTarget(provider, t.path, signal))?.sha256 === item.sha256);
      await this.store.completeFile(file.id, owner, { status: ours ? 'ready' : 'skipped', sha256: item.sha256, size: item.size, note: skippedNote(params.overwrite, false) });
      if (!ours) return;
      await countFileOutcome(this.store, this.cache, file, c, { ok: true });
    } catch (e) {
      if (signal.aborted) return;
      // The store full or out of reach, not the file at fault: back to pending without counting the attempt.
      if (this.engine && (await this.engine.health.defer(file, owner, e, (m) => redact(m, file.org_id)))) return;
      const err = asCloudportError(e);
      const message = redact(err.message, file.org_id);
      await fail(message);
      await countFileOutcome(this.store, this.cache, file, c, { ok: false, err, message });
    }
  }

  /** The object at an export's target, or null when there is none. */
  private statTarget(provider: StorageProvider, path: string, signal: AbortSignal): Promise<ObjectInfo | null> {
    return withRetry(() => provider.stat(path, signal), this.background, signal).catch((e) => {
      if (asCloudportError(e).kind === 'not_found') return null;
      throw e;
    });
  }

  private digest(chunks: Buffer[], sha256: string): string {
    const sha = createHash('sha256');
    const md5 = createHash('md5');
    for (const c of chunks) {
      sha.update(c);
      md5.update(c);
    }
    if (sha.digest('hex') !== sha256) throw new CloudportError('unexpected', 'the stored content does not match its SHA-256 (local corruption); import it again');
    return md5.digest('base64');
  }

  private async digestStream(stream: Readable, sha256: string): Promise<string> {
    const sha = createHash('sha256');
    const md5 = createHash('md5');
    for await (const c of stream as AsyncIterable<Buffer>) {
      sha.update(c);
      md5.update(c);
    }
    if (sha.digest('hex') !== sha256) throw new CloudportError('unexpected', 'the stored content does not match its SHA-256 (local corruption); import it again');
    return md5.digest('base64');
  }

  async onFinalized(job: JobRow): Promise<void> {
    const c = exportCounts((await this.store.jobProgress(job.id)).counts);
    await jobLog(
      this.store,
      job.org_id,
      job.id,
      job.connector_id,
      job.status === 'failed' ? 'error' : 'info',
      null,
      `export ${job.status}: ${c.exported} exported, ${c.skipped} skipped, ${c.failed} failed${c.canceled ? `, ${c.canceled} canceled` : ''}${job.error ? ` (${job.error})` : ''}`,
    );
    await recordJobOutcome(this.store, job);
  }
}

/** Why an export left a target as it was: said on the skipped file, with the overwrite mode that would write it. */
function skippedNote(overwrite: OverwriteMode, same: boolean): string {
  if (same) return 'the target already holds this content';
  return overwrite === 'never' ? 'the target exists (overwrite "never"); overwrite "if_changed" or "always" replaces it' : 'the target exists';
}
