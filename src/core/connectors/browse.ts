import type { ObjectInfo, StorageProvider } from '../../providers/types.js';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import { compileFilter, isFolderMarker } from '../domain/filter.js';
import { withRetry } from '../domain/retry.js';
import { PAGE_TEXT_BUDGET, entryBytes } from '../domain/page-budget.js';
import { explainNoMatch, noMatchText } from '../domain/nomatch.js';

export interface BrowseInput {
  /** The connector browsed: part of the cursor's query, so another connector's cursor is refused rather than read as a position in this listing. */
  connector_id: string;
  prefix?: string;
  pattern?: string;
  folders?: boolean;
  page_size: number;
  cursor?: string;
}

export interface BrowseResult {
  objects: { key: string; size: number; last_modified: string | null; etag: string | null; storage_class?: string; exported?: string }[];
  folders?: string[];
  next_cursor: string | null;
  scanned: number;
  matched: number;
  /** Why the page ended before page_size matches (time budget), when it did. */
  stopped?: 'time_budget';
  /** Set when the whole listing matched nothing: why, with hints (prefix repeated in the pattern, case, a leading "/", what the prefix holds). */
  hint?: string;
}

interface BrowseCursor extends Record<string, unknown> {
  /** Provider token of the page to read next (null: the first page). */
  t: string | null;
  /** Entries of that page already consumed. */
  s: number;
  /** The last key consumed in that page (null: none): the page is read again, and may have changed. */
  k: string | null;
}

/**
 * Where to resume in a provider page read again: after the last key consumed. The page may have
 * changed since (an object deleted or added before the cursor), so a count of entries would skip or
 * repeat one. Found: the entry after it. Gone, in a page whose keys are in order (S3, GCS and Azure
 * list so): the first key after it. Else the count.
 */
function resumeAt(entries: ObjectInfo[], state: BrowseCursor): number {
  if (state.k === null || state.s === 0 || !entries.length) return state.s;
  const k = state.k;
  const near = Math.min(state.s - 1, entries.length - 1);
  // Near where it was first: the usual case costs a few comparisons, not a scan of the page.
  for (let d = 0; d <= entries.length; d++) {
    if (near - d >= 0 && entries[near - d]!.key === k) return near - d + 1;
    if (near + d < entries.length && entries[near + d]!.key === k) return near + d + 1;
    if (near - d < 0 && near + d >= entries.length) break;
  }
  const sorted = entries.every((e, i) => i === 0 || Buffer.compare(Buffer.from(entries[i - 1]!.key), Buffer.from(e.key)) < 0);
  if (sorted) {
    const after = entries.findIndex((e) => Buffer.compare(Buffer.from(e.key), Buffer.from(k)) > 0);
    return after === -1 ? entries.length : after;
  }
  return state.s;
}

/**
 * One page of a glob browse. Reads provider pages until `page_size` objects matched, the listing
 * ends, or the time budget is spent; the cursor resumes inside a provider page, so no entry is
 * skipped or repeated and nothing beyond one provider page is held in memory.
 */
export async function browse(provider: StorageProvider, org: string, input: BrowseInput, budgetMs: number): Promise<BrowseResult> {
  const filter = compileFilter(input.prefix ?? '', input.pattern);
  const query = { c: input.connector_id, p: input.prefix ?? '', g: input.pattern ?? null, f: !!input.folders };
  let state = decodeCursor<BrowseCursor>(org, input.cursor, query, { t: 'string?', s: 'count', k: 'string?' }) ?? { t: null, s: 0, k: null };
  const deadline = Date.now() + budgetMs;
  const objects: BrowseResult['objects'] = [];
  const folders: string[] = [];
  let scanned = 0;
  const useDelimiter = !!input.folders && provider.capabilities.delimiter;
  const pageSize = Math.min(provider.capabilities.maxPageSize, 1000);
  let textBytes = 0;

  for (;;) {
    const token = state.t;
    const page = await withRetry(() => provider.list({ prefix: filter.listPrefix, delimiter: useDelimiter ? '/' : undefined, token, maxKeys: pageSize }));
    if (state.s === 0 && useDelimiter) folders.push(...page.folders);
    const entries: ObjectInfo[] = page.objects;
    for (let i = resumeAt(entries, state); i < entries.length; i++) {
      const o = entries[i]!;
      scanned++;
      if (isFolderMarker(o.key, o.size) || !filter.matches(o.key)) continue;
      // A page of long keys ends early at the text budget; the cursor resumes at this entry.
      const bytes = entryBytes(o.key);
      if (objects.length > 0 && textBytes + bytes > PAGE_TEXT_BUDGET) {
        scanned--; // the next page scans it again
        return finish(encodeCursor(org, { t: state.t, s: i, k: i > 0 ? entries[i - 1]!.key : null }, query));
      }
      textBytes += bytes;
      const out: BrowseResult['objects'][number] = { key: o.key, size: o.size, last_modified: o.last_modified, etag: o.etag };
      if (o.storage_class) out.storage_class = o.storage_class;
      if (o.exported) out.exported = o.exported;
      objects.push(out);
      if (objects.length >= input.page_size) {
        const more = i + 1 < entries.length || page.nextToken !== null;
        const next = i + 1 < entries.length ? { t: state.t, s: i + 1, k: o.key } : { t: page.nextToken, s: 0, k: null };
        return finish(more ? encodeCursor(org, next, query) : null);
      }
    }
    if (page.nextToken === null) {
      const r = finish(null);
      // Nothing at all matched (a first page that is also the last, no folders either): say why, as start_import does.
      if (!input.cursor && !objects.length && !folders.length) r.hint = noMatchText(await explainNoMatch(provider, { prefix: input.prefix ?? '', pattern: input.pattern ?? null }));
      return r;
    }
    state = { t: page.nextToken, s: 0, k: null };
    if (Date.now() >= deadline) return finish(encodeCursor(org, state, query), 'time_budget');
  }

  function finish(next: string | null, stopped?: 'time_budget'): BrowseResult {
    const r: BrowseResult = { objects, next_cursor: next, scanned, matched: objects.length };
    if (input.folders) r.folders = folders;
    if (stopped) r.stopped = stopped;
    return r;
  }
}
