import { CloudportError, invalid, notFound } from '../shared/errors.js';
import { gcUnlink, type BlobStore } from '../store/blobs.js';
import type { IndexSummary, Store } from '../store/types.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { checkIndexName } from './imports.js';

export interface ItemView {
  key: string;
  connector_id: string;
  size: number;
  sha256: string;
  content_type: string;
  imported_at: string;
}

export const MAX_READ = 256 * 1024;

const TEXT_TYPES = /^(text\/|application\/(json|xml|x-ndjson|yaml|x-yaml|javascript|csv|x-sh|toml|sql|graphql|ld\+json)\b)|\+(json|xml)\b/;

export class IndexService {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
  ) {}

  private async requireIndex(org: string, index: string) {
    checkIndexName(index);
    if (!(await this.store.indexExists(org, index))) throw notFound('index', index, 'index', 'Indexes are created by start_import; check the name.');
  }

  async list(org: string, opts: { cursor?: string; limit: number }): Promise<{ indexes: IndexSummary[]; next_cursor: string | null }> {
    const cur = decodeCursor<{ after: string }>(opts.cursor, 'indexes');
    const rows = await this.store.listIndexes(org, { after: cur?.after, limit: opts.limit + 1 });
    const more = rows.length > opts.limit;
    if (more) rows.pop();
    return { indexes: rows, next_cursor: more ? encodeCursor({ after: rows[rows.length - 1]!.name }, 'indexes') : null };
  }

  private async refuseWhileImporting(org: string, index: string) {
    const active = await this.store.countActiveJobsForIndex(org, index);
    if (active > 0) {
      throw new CloudportError('conflict', `index ${JSON.stringify(index)} has ${active} import or export job(s) queued or running`, {
        field: 'index',
        fix: 'Wait for them to finish (list_imports {index, status: "running"}) or cancel them with cancel_import first.',
      });
    }
  }

  /** Removes blobs that no item references any more (inside the store's lock, see Store.gcBlobs). */
  private gc(shas: string[]): Promise<number> {
    return this.store.gcBlobs(shas, gcUnlink(this.blobs));
  }

  async deleteIndex(org: string, index: string): Promise<{ index: string; items_deleted: number; blobs_removed: number }> {
    await this.requireIndex(org, index);
    await this.refuseWhileImporting(org, index);
    const before = (await this.store.listIndexes(org, { after: undefined, limit: 100000 })).find((i) => i.name === index)?.items ?? 0;
    const shas = (await this.store.deleteIndex(org, index)) ?? [];
    return { index, items_deleted: before, blobs_removed: await this.gc(shas) };
  }

  async deleteItem(org: string, index: string, key: string): Promise<{ index: string; key: string; blob_removed: boolean }> {
    await this.requireIndex(org, index);
    const sha = await this.store.deleteItem(org, index, key);
    if (sha === null) throw notFound('item', key, 'key', 'list_index_items shows the keys in this index.');
    return { index, key, blob_removed: (await this.gc([sha])) > 0 };
  }

  /**
   * Housekeeping (at start, then every few hours): finish half-done connector deletes, prune finished jobs
   * past retention, and sweep unreferenced blobs (which also finishes a delete_index or delete_item whose
   * process stopped between its transaction and the blob removal).
   */
  async maintain(retentionDays: number): Promise<{ jobs_pruned: number; blobs_removed: number; orphans_removed: number }> {
    const orphans = await this.store.sweepOrphans();
    const before = new Date(Date.now() - retentionDays * 86_400_000).toISOString();
    const jobs = await this.store.pruneJobs(before);
    let removed = 0;
    let batch: string[] = [];
    for await (const sha of this.blobs.list()) {
      batch.push(sha);
      if (batch.length >= 500) {
        removed += await this.gc(batch);
        batch = [];
      }
    }
    if (batch.length) removed += await this.gc(batch);
    return { jobs_pruned: jobs, blobs_removed: removed, orphans_removed: orphans };
  }

  async listItems(org: string, index: string, opts: { prefix?: string; cursor?: string; limit: number }): Promise<{ items: ItemView[]; next_cursor: string | null }> {
    await this.requireIndex(org, index);
    const q = { i: index, p: opts.prefix ?? '' };
    const cur = decodeCursor<{ after: string }>(opts.cursor, q);
    const rows = await this.store.listItems(org, index, { prefix: opts.prefix, after: cur?.after, limit: opts.limit + 1 });
    const more = rows.length > opts.limit;
    if (more) rows.pop();
    return {
      items: rows.map((r) => ({ key: r.key, connector_id: r.connector_id, size: r.size, sha256: r.sha256, content_type: r.content_type, imported_at: r.imported_at })),
      next_cursor: more ? encodeCursor({ after: rows[rows.length - 1]!.key }, q) : null,
    };
  }

  async readItem(
    org: string,
    index: string,
    key: string,
    offset = 0,
    length = MAX_READ,
  ): Promise<{ key: string; size: number; content_type: string; offset: number; text?: string; truncated?: boolean; note?: string }> {
    await this.requireIndex(org, index);
    if (length > MAX_READ) throw invalid('length', `length may be at most ${MAX_READ} bytes`, 'Read large items in several calls with offset.');
    const item = await this.store.getItem(org, index, key);
    if (!item) throw notFound('item', key, 'key', 'list_index_items shows the keys in this index.');
    if (offset > item.size) throw invalid('offset', `offset ${offset} is past the end of the item (${item.size} bytes)`);
    const base = { key: item.key, size: item.size, content_type: item.content_type, offset };
    let buf: Buffer;
    try {
      buf = await this.blobs.read(item.sha256, offset, Math.min(length, item.size - offset));
    } catch {
      throw new CloudportError('unexpected', `the stored content of ${JSON.stringify(key)} is missing`, { fix: 'Import the item again.' });
    }
    const looksText = TEXT_TYPES.test(item.content_type) || isUtf8Text(buf);
    if (!looksText) return { ...base, note: `binary content (${item.content_type}); not shown as text` };
    // Never cut a UTF-8 sequence in half at the end of the window.
    let end = buf.length;
    if (offset + end < item.size) while (end > 0 && end > buf.length - 4 && (buf[end - 1]! & 0xc0) === 0x80) end--;
    if (offset + end < item.size && end > 0 && buf[end - 1]! >= 0xc0) end--;
    const text = buf.subarray(0, end).toString('utf8');
    const out: { key: string; size: number; content_type: string; offset: number; text: string; truncated?: boolean } = { ...base, text };
    if (offset + end < item.size) out.truncated = true;
    return out;
  }
}

function isUtf8Text(buf: Buffer): boolean {
  const sample = buf.subarray(0, 4096);
  if (sample.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample.length < buf.length ? sample.subarray(0, Math.max(0, sample.length - 4)) : sample);
    return true;
  } catch {
    return false;
  }
}
