import type { Logger } from '../../shared/log.js';
import { busyError } from '../domain/busy.js';
import { blobReadError } from '../domain/blob-read.js';
import { CloudportError, invalid, notFound } from '../../shared/errors.js';
import { gcUnlink, type BlobStore } from '../../store/blobs.js';
import type { IndexSummary, Store, TextInfo } from '../../store/types.js';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import { checkIndexName, requireIndex } from '../domain/index-names.js';
import { entryBytes, fitPage } from '../domain/page-budget.js';
import { detect } from '../search/extract/sniff.mjs';
import { binaryType, SNIFF_BYTES } from '../search/extract/binary-type.js';

export interface ItemView {
  key: string;
  connector_id: string;
  size: number;
  sha256: string;
  content_type: string;
  imported_at: string;
  /** Set on a duplicate: the key of this index whose item holds the same content (they share one blob). */
  duplicate_of?: string;
}

export const MAX_READ = 256 * 1024;
/** What read_item returns without a length: a page an agent can take in one turn. */
export const DEFAULT_READ = 32 * 1024;

const TEXT_TYPES = /^(text\/|application\/(json|xml|x-ndjson|yaml|x-yaml|javascript|csv|x-sh|toml|sql|graphql|ld\+json)\b)|\+(json|xml)\b/;

export class IndexService {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    /** Set for a front door serving tenants: a blob store failure is logged here, and tenants hear it without the operator's bucket. */
    private readonly operatorLog?: Logger,
  ) {}

  private async requireIndex(org: string, index: string) {
    await requireIndex(this.store, org, index, 'index', 'Indexes are created by start_import; list_indexes shows them.');
  }

  async list(org: string, opts: { cursor?: string; limit: number }): Promise<{ indexes: IndexSummary[]; next_cursor: string | null }> {
    const cur = decodeCursor<{ after: string }>(org, opts.cursor, 'indexes', { after: 'string' });
    const rows = await this.store.listIndexes(org, { after: cur?.after, limit: opts.limit + 1 });
    const more = rows.length > opts.limit;
    if (more) rows.pop();
    return { indexes: rows, next_cursor: more ? encodeCursor(org, { after: rows[rows.length - 1]!.name }, 'indexes') : null };
  }

  private async refuseWhileImporting(org: string, index: string) {
    const active = await this.store.countActiveJobsForIndex(org, index);
    if (active > 0) {
      throw await busyError(this.store, org, { index }, active, `index ${JSON.stringify(index)} has ${active} job(s) (import, export or reindex)`, 'index');
    }
  }

  /** Removes blobs that no item references any more (inside the store's lock, see Store.gcBlobs). */
  private gc(shas: string[]): Promise<number> {
    return this.store.gcBlobs(shas, gcUnlink(this.blobs));
  }

  async deleteIndex(org: string, index: string): Promise<{ index: string; items_deleted: number; blobs_removed: number }> {
    // Jobs first: an import that has not committed a file yet is about to create the index.
    checkIndexName(index);
    await this.refuseWhileImporting(org, index);
    await this.requireIndex(org, index);
    const before = (await this.store.listIndexes(org, { after: undefined, limit: 100000 })).find((i) => i.name === index)?.items ?? 0;
    const deleted = await this.store.deleteIndex(org, index, { unlessActive: true });
    // A job created since the check above (it holds the index's lock to be created): refused as above.
    if (deleted === 'busy') {
      await this.refuseWhileImporting(org, index);
      throw new CloudportError('conflict', `index ${index} has a job starting`, { field: 'index', temporary: true, fix: 'list_imports {index} shows it; wait until it ends (import_status), then delete the index.' });
    }
    const shas = [...new Set(deleted ?? [])];
    await this.gc(shas);
    return { index, items_deleted: before, blobs_removed: await this.released(org, shas) };
  }

  async deleteItem(org: string, index: string, key: string): Promise<{ index: string; key: string; blob_removed: boolean }> {
    await this.requireIndex(org, index);
    const sha = await this.store.deleteItem(org, index, key);
    if (sha === null) throw notFound('item', key, 'key', 'list_index_items shows the keys in this index.');
    await this.gc([sha]);
    return { index, key, blob_removed: (await this.released(org, [sha])) > 0 };
  }

  /**
   * How many of these contents the organization holds no more (the store removes a content once no
   * organization holds it): counted from the caller's side alone, so the answer never tells whether
   * another organization holds the same bytes.
   */
  private async released(org: string, shas: string[]): Promise<number> {
    const held = await this.store.contentsHeld(org, shas);
    return shas.filter((s) => !held.has(s)).length;
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
    const cur = decodeCursor<{ after: string }>(org, opts.cursor, q, { after: 'string' });
    const rows = await this.store.listItems(org, index, { prefix: opts.prefix, after: cur?.after, limit: opts.limit + 1 });
    let more = rows.length > opts.limit;
    if (more) rows.pop();
    // Long keys make a shorter page (the cursor resumes after the last one shown), never a cut entry.
    if (fitPage(rows, (r) => entryBytes(r.key, r.duplicate_of, r.content_type))) more = true;
    return {
      items: rows.map((r) => {
        const v: ItemView = { key: r.key, connector_id: r.connector_id, size: r.size, sha256: r.sha256, content_type: r.content_type, imported_at: r.imported_at };
        if (r.duplicate_of !== null) v.duplicate_of = r.duplicate_of;
        return v;
      }),
      next_cursor: more ? encodeCursor(org, { after: rows[rows.length - 1]!.key }, q) : null,
    };
  }

  /**
   * A window of an item's text: `offset` and `length` count bytes, and the window is moved to UTF-8
   * boundaries at both ends (a start inside a character moves forward to the next one), so every call
   * returns whole characters and `next_offset` continues exactly where it ended (null at the end).
   * Documents and markup (PDF, DOCX, XLSX, HTML, XML) are read as their extracted text, where
   * search_index offsets point; `raw` reads the stored bytes instead.
   */
  async readItem(org: string, index: string, key: string, offset = 0, length = DEFAULT_READ, raw = false): Promise<ReadResult> {
    await this.requireIndex(org, index);
    if (length > MAX_READ) throw invalid('length', `length may be at most ${MAX_READ} bytes`, 'Read large items in several calls with offset (next_offset says where to go on).');
    const item = await this.store.getItem(org, index, key);
    if (!item) throw notFound('item', key, 'key', 'list_index_items shows the keys in this index.');
    const info = (await this.store.textInfo([item.sha256])).get(item.sha256);
    const base = { key: item.key, size: item.size, content_type: item.content_type, text_status: info?.status ?? 'pending' } as const;
    if (info?.derived && !raw) {
      if (info.status !== 'extracted' && info.status !== 'truncated') {
        // An empty text cut at a limit (a scan's first pages) may have text further on.
        const why =
          info.status === 'empty'
            ? info.detail
              ? `no text found in ${info.detail}; ${moreText(info, index)}`
              : 'no text found in it'
            : `${info.status}${info.detail ? `: ${info.detail}` : ''}${failedAtLimit(info, index)}`;
        // Markup is text when read raw; a PDF or an Office file is not, so raw would show nothing more.
        return { ...base, offset, next_offset: null, note: `${info.format === 'document' ? 'a' : info.format} document, ${why}${MARKUP.includes(info.format) ? '; raw: true reads its markup' : ''}` };
      }
      if (offset > info.bytes) throw invalid('offset', `offset ${offset} is past the end of the text (${info.bytes} bytes)`, `Give an offset from 0 to ${info.bytes}.`);
      const chunks = await this.store.readText(item.sha256, offset, length + 3);
      const from = chunks[0]?.off ?? offset;
      const buf = Buffer.from(chunks.map((c) => c.body).join(''), 'utf8');
      const w = window(buf.subarray(offset - from, offset - from + length + 3), offset, length, info.bytes);
      // At the end of a text cut at a limit, the document goes on: say so, and how to get more.
      const cut =
        info.status === 'truncated' && w.next_offset === null
          ? { note: `the extracted text ends here, at a limit (${info.detail ?? 'extraction limit'}); the rest of the document is not in it: ${MARKUP.includes(info.format) || info.format === 'text' ? 'raw: true reads the stored bytes, whole; ' : ''}${moreText(info, index)}` }
          : {};
      return { ...base, text_bytes: info.bytes, ...w, ...cut };
    }
    if (offset > item.size) throw invalid('offset', `offset ${offset} is past the end of the item (${item.size} bytes)`, `Give an offset from 0 to ${item.size}.`);
    let buf: Buffer;
    try {
      // Three bytes more than asked: enough to find the next character boundary after the window.
      buf = await this.blobs.read(item.sha256, offset, Math.min(length + 3, item.size - offset));
    } catch (e) {
      throw blobReadError(e, key, this.operatorLog);
    }
    // A document not extracted yet (extraction off, or imported before it existed) is not shown as
    // its stored bytes, which would pass for its text (a PDF's syntax, HTML's markup).
    if (!info && !raw) {
      const head = offset === 0 && buf.length >= Math.min(1024, item.size) ? buf : await this.blobs.read(item.sha256, 0, Math.min(1024, item.size));
      const sniffed = detect(head);
      // A zip's entries decide at extraction; for this hint its name or type says which document it is.
      const office = /\.docx$/i.test(item.key) || item.content_type.includes('wordprocessingml') ? 'docx' : /\.xlsx$/i.test(item.key) || item.content_type.includes('spreadsheetml') ? 'xlsx' : 'zip';
      const kind = sniffed === 'zip' ? office : sniffed;
      if (kind !== 'other' && kind !== 'zip' && kind !== 'gzip') {
        const rawHint = MARKUP.includes(kind) ? '; raw: true reads its markup' : '';
        return { ...base, offset, next_offset: null, note: `${kind} document, text not extracted yet (imported with extraction off, or before search existed): reindex_index {"index": ${JSON.stringify(index)}} extracts it${rawHint}` };
      }
    }
    // Extraction has looked at the whole content: its verdict decides; without one (extraction off, or
    // before it existed) the type, else the window's own bytes.
    let start = 0;
    if (offset > 0) while (start < 3 && start < buf.length && (buf[start]! & 0xc0) === 0x80) start++;
    const looksText = info ? info.format === 'text' || (info.status !== 'unsupported' && TEXT_TYPES.test(item.content_type)) : TEXT_TYPES.test(item.content_type) || isUtf8Text(buf.subarray(start));
    if (!looksText) {
      // The type its bytes say, when the stored one says otherwise (S3's default application/octet-stream, a wrong label).
      const head = offset === 0 && (buf.length >= SNIFF_BYTES || buf.length === item.size) ? buf : await this.blobs.read(item.sha256, 0, Math.min(SNIFF_BYTES, item.size)).catch(() => null);
      const found = head ? await binaryType(head) : null;
      const type = found && found !== item.content_type.split(';')[0]!.trim().toLowerCase() ? `${found} by its bytes, stored as ${item.content_type}` : item.content_type;
      return { ...base, offset, next_offset: null, note: `binary content (${type}); not shown as text` };
    }
    // What search covers of this text, said on every window: its words past a limit, or all of them
    // before extraction, are not found by search_index.
    const searched =
      !raw && base.text_status === 'truncated'
        ? { note: `search covers the first ${info!.bytes} bytes of this text (${info!.detail ?? 'extraction limit'}); words after them are not found by search_index: ${moreText(info!, index)}` }
        : !raw && base.text_status === 'pending'
          ? { note: `not searchable yet (imported with extraction off, or before search existed): reindex_index {"index": ${JSON.stringify(index)}} indexes it` }
          : {};
    return { ...base, ...window(buf, offset, length, item.size), ...searched };
  }
}

/** A failure at one of the extraction limits: which setting lifts it, then a reindex (else nothing). */
function failedAtLimit(info: TextInfo, index: string): string {
  if (info.status !== 'failed' || !info.detail) return '';
  const d = info.detail;
  const setting = /^extraction took longer than/.test(d)
    ? 'CLOUDPORT_EXTRACT_TIMEOUT_MS'
    : /more than the extraction limit/.test(d)
      ? 'CLOUDPORT_EXTRACT_MAX_INPUT_BYTES'
      : /entries, more than the limit/.test(d)
        ? 'CLOUDPORT_EXTRACT_MAX_ZIP_ENTRIES'
        : /inflates to .*more than the limit/.test(d)
          ? 'CLOUDPORT_EXTRACT_MAX_INFLATED_BYTES'
          : null;
  return setting ? `; the server's operator can raise ${setting} and restart it, then reindex_index {"index": ${JSON.stringify(index)}, "all": true} extracts it` : '';
}

/** Document formats whose stored bytes are text (markup). */
const MARKUP = ['html', 'xml'];

/**
 * How more of a text cut at a limit gets extracted: the limit its detail names (both when it names
 * none) is the server's setting, which only its operator changes; then a reindex of every item.
 */
function moreText(info: TextInfo, index: string): string {
  const named = [info.detail?.includes('(text limit)') && 'CLOUDPORT_EXTRACT_MAX_TEXT_BYTES', info.detail?.includes('(page limit)') && 'CLOUDPORT_EXTRACT_MAX_PAGES'].filter((v): v is string => !!v);
  const vars = named.length ? named : ['CLOUDPORT_EXTRACT_MAX_TEXT_BYTES', 'CLOUDPORT_EXTRACT_MAX_PAGES'];
  return `the server's operator can raise ${vars.join(' or ')} and restart it, then reindex_index {"index": ${JSON.stringify(index)}, "all": true} extracts more`;
}

/** The whole characters of `buf` (which starts at byte `offset` of a text of `total` bytes) within `length` bytes. */
function window(buf: Buffer, offset: number, length: number, total: number): Pick<ReadResult, 'offset' | 'next_offset' | 'text' | 'truncated'> {
  let start = 0;
  while (start < 3 && start < buf.length && (buf[start]! & 0xc0) === 0x80) start++;
  let end = Math.min(buf.length, start + length);
  while (end > start && end < buf.length && (buf[end]! & 0xc0) === 0x80) end--;
  // A length shorter than the character at the start still reads that character: every call moves on.
  if (end === start && start < buf.length) for (end = start + 1; end < buf.length && (buf[end]! & 0xc0) === 0x80; ) end++;
  const text = buf.subarray(start, end).toString('utf8');
  const next = offset + end < total ? offset + end : null;
  return { offset: offset + start, next_offset: next, text, ...(next !== null ? { truncated: true } : {}) };
}

export interface ReadResult {
  key: string;
  size: number;
  content_type: string;
  /** What extraction found (pending: not extracted yet, see reindex_index). */
  text_status: string;
  /** Bytes of the extracted text, when the text read is the extracted one. */
  text_bytes?: number;
  /** Where the text starts (the asked offset, moved forward to a character boundary). */
  offset: number;
  /** Where the next call continues; null when the text ends here. */
  next_offset: number | null;
  text?: string;
  truncated?: boolean;
  note?: string;
}

function isUtf8Text(buf: Buffer): boolean {
  const sample = buf.subarray(0, 4096);
  if (sample.includes(0)) return false;
  try {
    // stream: a character cut by the end of the sample (or of the window) is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
    return true;
  } catch {
    return false;
  }
}
