import { CloudportError, asCloudportError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/log.js';
import { redact } from '../../../shared/redact.js';
import { Batcher } from '../../../shared/batch.js';
import { gcUnlink, type BlobStore } from '../../../store/blobs.js';
import type { ClaimedFile, CommitFile, CommitResult, JobRow, Store, TextPayload } from '../../../store/types.js';
import type { JobEngine, JobHandlers } from '../engine.js';
import { ConnectorCache, inactiveReason, recordJobOutcome } from '../../connectors/health.js';
import type { ProviderPool } from '../../connectors/provider-pool.js';
import type { ConnectorService } from '../../connectors/service.js';
import { compileFilter } from '../../domain/filter.js';
import { explainNoMatch, noMatchText } from '../../domain/nomatch.js';
import { DEFAULT_RETRY, THROTTLE_FACTOR, withRetry, type RetryPolicy } from '../../domain/retry.js';
import { countFileOutcome, fileConnector, jobLog } from '../common.js';
import { countSkipped, parseListingState, withCompacted } from '../listing-state.js';
import { downloadObject, type Downloaded } from './download.js';
import type { HashWorkers } from './hash-workers.js';
import type { TextExtractor } from '../../search/extractor.js';
import { applyMode, select, selectionOf, type JobParams } from './selection.js';

export interface ImportOptions {
  retry?: RetryPolicy;
  idleTimeoutMs: number;
  leaseMs: number;
  log: Logger;
  /** Worker threads that hash and write downloads (none: the main thread does). */
  hashers?: HashWorkers;
  /** Extracts each new content's text for search, before it lands (none: no text on import). */
  extractor?: TextExtractor;
}

/** A downloaded file on its way into the index (see ImportService.landBatch). */
interface Landing {
  file: ClaimedFile;
  owner: string;
  d: Downloaded;
  dedupe: boolean;
  text?: TextPayload;
}
type Landed =
  | { lost: true } // canceled or the lease was lost before the hash was recorded: the temp file is discarded
  | { blobError: unknown } // storing the content failed: the temp file is still there
  | { committed: { status: 'ready' | 'deduped'; duplicate_of: string | null } | null }
  | { commitError: Error };
/** How long start_import lists before it answers (the rest of the listing continues in the background). */

/** Claims of one file after which a temporary blob store failure fails it for good. */
const BLOB_STORE_TRIES = 5;


/**
 * The background work of an import job, run by the engine: the rest of the listing (listNext), each
 * file's download, hash and landing in the index (processFile), and the job's verdict (onFinalized).
 */
export class ImportHandler implements JobHandlers {
  private engine!: JobEngine;
  private readonly retry: RetryPolicy;
  private readonly cache: ConnectorCache;

  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly pool: ProviderPool,
    private readonly connectors: ConnectorService,
    private readonly opts: ImportOptions,
  ) {
    this.retry = opts.retry ?? DEFAULT_RETRY;
    // The connector service's own cache: an update_connector is seen by the next file at once.
    this.cache = connectors.cache;
  }

  /**
   * Downloads that finish within 2 ms of each other land together (small files finish many per
   * millisecond): with local blobs in one store transaction per batch, with a shared blob store (S3)
   * in two (the hash marks, then the items), instead of two per file.
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
      ...(l.text ? { text: l.text } : {}),
    });
    const out: Landed[] = new Array(batch.length);
    const place = this.blobs.commitSync?.bind(this.blobs);
    if (place) {
      // Local blobs: each blob is renamed into place inside the transaction that writes its item, so
      // blob GC (a write transaction on SQLite; on PostgreSQL one that holds the blob lock the commit
      // shares) never sees one without the other, and no hash mark is needed.
      const placed = new Set<number>();
      const failed = new Map<number, unknown>();
      const tempOf = new Map(batch.map((l) => [l.file.id, l.d.tempPath]));
      const results = await this.store.commitFiles(batch.map(toCommit), (c) => {
        try {
          place(tempOf.get(c.fileId)!, c.sha256);
          placed.add(c.fileId);
          failed.delete(c.fileId); // a batch rolled back on it; file by file, it went into place
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
      await this.collectReplaced(results);
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
    await this.collectReplaced(results);
    return out;
  }

  /** Removes those of `shas` that nothing references any more; a failure is logged and left to the sweep. */
  private async collect(shas: string[]): Promise<void> {
    if (!shas.length) return;
    await this.store.gcBlobs(shas, gcUnlink(this.blobs)).catch((e) => {
      if (!this.engine?.health.report(e)) this.opts.log.warn('removing unreferenced content failed; the sweep removes it later', { error: (e as Error).message });
    });
  }

  /**
   * The contents that a batch's commits replaced under their keys: removed at once when no item (of any
   * index) and no file in flight references them any more, as delete_item does.
   */
  private collectReplaced(results: (CommitResult | null | Error)[]): Promise<void> {
    return this.collect(results.flatMap((r) => (r && !(r instanceof Error) && r.replaced ? [r.replaced] : [])));
  }

  async closeHashers(): Promise<void> {
    await this.opts.hashers?.close();
  }

  attach(engine: JobEngine): void {
    this.engine = engine;
  }

  // ---- job handlers (run by the engine in the background) ----

  async listNext(job: JobRow, owner: string, signal: AbortSignal): Promise<void> {
    const params = JSON.parse(job.params) as JobParams;
    const filter = compileFilter(params.prefix, params.pattern ?? undefined, params.exclude, params.skip_prefix);
    const st = parseListingState(job.listing_state);
    let token = st.t;
    try {
      const c = await this.connectors.get(job.org_id, job.connector_id);
      if (c.status !== 'ACTIVE') throw new CloudportError('conflict', inactiveReason(c));
      const provider = await this.pool.get(c);
      for (;;) {
        const page = await withRetry(() => provider.list({ prefix: filter.listPrefix, token, maxKeys: 1000, signal }), { ...this.retry, throttleFactor: THROTTLE_FACTOR }, signal);
        const selected = await applyMode(this.store, select(page.objects, filter, params), params, job.org_id, job.connector_id, job.index_name);
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
            await jobLog(this.store, job.org_id, job.id, job.connector_id, 'error', null, reason);
            this.engine?.wake();
            return;
          }
          await jobLog(this.store, job.org_id, job.id, job.connector_id, 'info', null, reason);
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
      await jobLog(this.store, job.org_id, job.id, job.connector_id, 'error', null, `listing failed: ${err.message}`);
    }
  }

  async processFile(file: ClaimedFile, owner: string, signal: AbortSignal, release: (waitMs?: number) => void = () => undefined): Promise<void> {
    const params = JSON.parse(file.params) as JobParams;
    const usable = await fileConnector(this.cache, file);
    if ('refused' in usable) {
      await this.store.failFile(file.id, owner, usable.refused, null);
      return;
    }
    const { c } = usable;
    let temp: string | null = null;
    try {
      const provider = await this.pool.get(c);
      const d = await downloadObject(provider, this.blobs, file.key, {
        retry: this.retry,
        idleTimeoutMs: this.opts.idleTimeoutMs,
        signal,
        hashers: this.opts.hashers,
        listed: { size: file.size, etag: file.etag },
        onRetry: (err, attempt) => this.opts.log.debug('retrying download', { job_id: file.job_id, attempt, error: err.message }),
        onThrottle: () => this.engine?.throttled(file.id),
      });
      temp = d.tempPath;
      // The temp file is the content's only local copy until it lands: its text is read from it now.
      const text = await this.opts.extractor?.forFile(d.sha256, d.tempPath, d.content_type, file.key, d.head);
      // Its bytes are on disk: the next file's transfer starts while this one waits for its batch (unless it
      // runs alone: the engine starts nothing beside it until it has landed).
      release(d.waitMs);
      const landed = await this.landings.push({ file, owner, d, dedupe: params.dedupe, ...(text ? { text } : {}) });
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
      if ('commitError' in landed) {
        // Local blobs are renamed into place inside the commit, so a commit that failed (a full store) may
        // leave its blob with no item: GC decides, as for a commit that wrote nothing. Its own failure
        // leaves the blob to the sweep; the commit's error is what the file's fate depends on.
        await this.collect([d.sha256]);
        throw landed.commitError;
      }
      const res = landed.committed;
      if (res) this.engine?.health.ok();
      if (!res) await this.store.gcBlobs([d.sha256], gcUnlink(this.blobs));
      else await countFileOutcome(this.store, this.cache, file, c, { ok: true });
    } catch (e) {
      if (temp) await this.blobs.discard(temp).catch(() => undefined);
      if (signal.aborted) return;
      // The store full or out of reach, not the file at fault: it goes back to pending (the attempt does
      // not count) and is tried again after a pause; the job says why in import_status, the log once a minute.
      if (this.engine && (await this.engine.health.defer(file, owner, e, (m) => redact(m, file.org_id)))) return;
      const err = asCloudportError(e);
      const message = redact(err.message, file.org_id);
      await this.store.failFile(file.id, owner, message, null);
      await jobLog(this.store, file.org_id, file.job_id, file.connector_id, 'error', file.key, message);
      await countFileOutcome(this.store, this.cache, file, c, { ok: false, err, message });
    }
  }

  async onFinalized(job: JobRow): Promise<void> {
    // The counts import_status shows: skipped files kept as a number (countSkipped) included.
    const c = withCompacted(job, (await this.store.jobProgress(job.id)).counts);
    await jobLog(
      this.store,
      job.org_id,
      job.id,
      job.connector_id,
      job.status === 'failed' ? 'error' : 'info',
      null,
      `import ${job.status}: ${c.ready} ready, ${c.deduped} deduped, ${c.skipped} skipped, ${c.failed} failed${c.canceled ? `, ${c.canceled} canceled` : ''}${job.error ? ` (${job.error})` : ''}`,
    );
    await recordJobOutcome(this.store, job);
  }
}
