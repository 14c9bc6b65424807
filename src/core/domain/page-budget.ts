import { jsonBytes } from '../../shared/text.js';

/**
 * Bytes of text a page of entries may take in a tool result (the rest of the result is a few
 * hundred bytes more): 100 entries with keys of 40 bytes fit, and long keys make a page shorter
 * (fewer entries and a cursor), never an entry cut.
 */
export const PAGE_TEXT_BUDGET = 11 * 1024;

/** What one entry adds to a page's text besides its key: size, date, punctuation. */
export const ENTRY_OVERHEAD = 40;

/**
 * Shortens `rows` in place to the entries whose text fits PAGE_TEXT_BUDGET (one at least, never an
 * entry cut); true when it dropped some (the cursor resumes after the last one kept).
 */
export function fitPage<T>(rows: T[], bytesOf: (row: T) => number): boolean {
  let bytes = 0;
  const over = rows.findIndex((r, i) => (bytes += bytesOf(r)) > PAGE_TEXT_BUDGET && i > 0);
  if (over <= 0) return false;
  rows.length = over;
  return true;
}

/** The text bytes one entry takes: its key (JSON-escaped) and any other strings it shows. */
export function entryBytes(...strings: (string | null | undefined)[]): number {
  let n = ENTRY_OVERHEAD;
  for (const s of strings) if (s) n += jsonBytes(s);
  return n;
}
