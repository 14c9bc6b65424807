import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { CloudportError, asCloudportError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { BlobStore } from '../../store/blobs.js';
import type { ClaimedFile, JobRow, JobState, ListedFile, Store } from '../../store/types.js';
import { checkIndexName, requireIndex } from '../domain/index-names.js';
import type { JobEngine, JobHandlers } from '../jobs/engine.js';
import { jobLog, newJobRow, startLine } from '../jobs/common.js';
import { toPayload } from './extractor.js';
import type { ExtractPool } from './extract/pool.js';

/** A reindex job has no connector: its files are items of the index. */
const NO_CONNECTOR = '';
const PAGE = 1000;

export interface ReindexResult {
  job_id: string;
  status: JobState;
  index: string;
  /** Items queued so far (the rest of the index is listed in the background). */
  queued: number;
  listing_complete: boolean;
  /** The job was already queued or running for this index: no second one started. */
  already_running?: boolean;
}

/**
 * reindex_index: extracts the text of items imported before extraction existed (or with it off), or of
 * every item with `all`, as a durable job of kind "reindex" that import_status follows like any other.
 * Each item's blob is copied to a temp file and read by the extraction workers; the text replaces the
 * content's old one in one transaction.
 */
export class ReindexService implements JobHandlers {
  private engine?: JobEngine;
  /**
   * Per job that extracts every item again (`all`), the contents this process has extracted (or is
   * extracting) for it: identical content is extracted once, as on import. Dropped when the job ends.
   */
  private readonly extracted = new Map<string, Map<string, Promise<boolean>>>();

  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly pool: ExtractPool,
    private readonly leaseMs: number,
  ) {}

  attach(engine: JobEngine): void {
    this.engine = engine;
  }

  /**
   * Starts a reindex of the index, or answers the one queued or running there when it covers this call
   * (a second job would extract the same items again): every item without text has a file pending in
   * it, for its key and content, or (while its listing goes on) lies past its listing's cursor. With
   * `all`, any active reindex answers, and one without `all` is a conflict. The store decides in one
   * transaction, so two processes cannot both start one.
   */
  async start(org: string, input: { index: string; all?: boolean }): Promise<ReindexResult> {
    const index = checkIndexName(input.index);
    const all = !!input.all;
    await requireIndex(this.store, org, index, 'index', 'list_indexes shows the indexes.');
    const first = await this.store.itemsToExtract(org, index, { limit: PAGE, all });
    const complete = first.length < PAGE;
    const id = newId('rdx');
    const now = new Date().toISOString();
    const state = { after: first.length ? first[first.length - 1]!.key : null, all };
    const row = newJobRow({ id, org, kind: 'reindex', connectorId: NO_CONNECTOR, index, params: { all }, listingState: JSON.stringify(state), complete, now });
    const running = await this.store.createJobUnlessActive(row, first.map(listed), all ? 'any' : 'missing-text', startLine(org, `reindex of ${index} started: ${first.length} item(s) queued${complete ? '' : ' so far (listing continues)'}${all ? ', every item' : ', items without text'}`));
    if (running) {
      const runningAll = (JSON.parse(running.params) as { all?: boolean }).all ?? false;
      if (all && !runningAll) {
        throw new CloudportError('conflict', `index ${JSON.stringify(index)} has reindex job ${running.id} ${running.status} for its items without text; all: true would extract them a second time beside it`, {
          field: 'all',
          fix: `Wait for it (import_status {job_id: "${running.id}", wait_seconds: 30}), then call reindex_index {index: ${JSON.stringify(index)}, all: true} again; or cancel_import {job_id: "${running.id}"} first.`,
        });
      }
      const c = (await this.store.jobProgress(running.id)).counts;
      const queued = Object.values(c).reduce((a, n) => a + n, 0);
      return { job_id: running.id, status: running.status as JobState, index, queued, listing_complete: running.listing_complete === 1, already_running: true };
    }
    this.engine?.wake();
    return { job_id: id, status: 'queued', index, queued: first.length, listing_complete: complete };
  }

  async listNext(job: JobRow, owner: string, signal: AbortSignal): Promise<void> {
    const st = JSON.parse(job.listing_state ?? '{"after":null}') as { after: string | null; all?: boolean };
    try {
      for (;;) {
        const rows = await this.store.itemsToExtract(job.org_id, job.index_name, { ...(st.after !== null ? { after: st.after } : {}), limit: PAGE, all: !!st.all });
        st.after = rows.length ? rows[rows.length - 1]!.key : st.after;
        const done = rows.length < PAGE;
        const kept = await this.store.appendListing(job.id, owner, rows.map(listed), JSON.stringify(st), done, this.leaseMs);
        this.engine?.wake();
        if (!kept || done || signal.aborted) return;
      }
    } catch (e) {
      if (signal.aborted || this.engine?.health.report(e)) return;
      await this.store.failListing(job.id, owner, `listing the index failed: ${asCloudportError(e).message}`, new Date().toISOString());
    }
  }

  async processFile(file: ClaimedFile, owner: string, signal: AbortSignal): Promise<void> {
    const item = await this.store.getItem(file.org_id, file.index_name, file.key);
    // The item was deleted or got new content since the listing (its import extracted that).
    if (!item || item.sha256 !== file.version) {
      await this.store.completeFile(file.id, owner, { status: 'skipped', sha256: null, size: null });
      return;
    }
    const all = (JSON.parse(file.params) as { all?: boolean }).all ?? false;
    if (!all && (await this.store.textsKnown([item.sha256])).has(item.sha256)) {
      await this.store.completeFile(file.id, owner, { status: 'skipped', sha256: item.sha256, size: item.size });
      return;
    }
    let done: Map<string, Promise<boolean>> | undefined;
    if (all) {
      done = this.extracted.get(file.job_id) ?? new Map();
      this.extracted.set(file.job_id, done);
      const earlier = done.get(item.sha256);
      if (earlier && (await earlier)) {
        await this.store.completeFile(file.id, owner, { status: 'skipped', sha256: item.sha256, size: item.size, note: 'same content as an item this reindex extracted' });
        return;
      }
    }
    let settle!: (ok: boolean) => void;
    done?.set(item.sha256, new Promise<boolean>((resolve) => (settle = resolve)));
    const temp = await this.blobs.createTemp();
    try {
      await pipeline(this.blobs.stream(item.sha256), temp.stream, { signal });
      const text = toPayload(await this.pool.extract({ path: temp.path, contentType: item.content_type, key: item.key }));
      await this.store.saveText(item.sha256, text, new Date().toISOString(), all);
      await this.store.completeFile(file.id, owner, { status: 'ready', sha256: item.sha256, size: item.size });
      settle?.(true);
    } catch (e) {
      // Not extracted here: a later file of the same content tries again.
      done?.delete(item.sha256);
      settle?.(false);
      // A store out of reach or full is no item's fault: the file goes back to pending, its attempt not counted.
      if (signal.aborted || (this.engine && (await this.engine.health.defer(file, owner, e, (m) => m)))) return;
      const message = `reading the stored content failed: ${asCloudportError(e).message}`;
      await this.store.failFile(file.id, owner, message, null);
      await jobLog(this.store, file.org_id, file.job_id, NO_CONNECTOR, 'error', file.key, message);
    } finally {
      temp.stream.destroy();
      await fs.promises.rm(temp.path, { force: true });
    }
  }

  async onFinalized(job: JobRow): Promise<void> {
    this.extracted.delete(job.id);
    const c = (await this.store.jobProgress(job.id)).counts;
    await jobLog(this.store, job.org_id, job.id, NO_CONNECTOR, job.status === 'failed' ? 'error' : 'info', null, `reindex ${job.status}: ${c.ready} extracted, ${c.skipped} skipped, ${c.failed} failed`);
  }
}

/** An item as a file of a reindex job: its content hash rides in `version`, so a changed item is skipped. */
function listed(r: { key: string; sha256: string; size: number }): ListedFile {
  return { key: r.key, size: r.size, etag: null, version: r.sha256 };
}
