import { jsonBytes } from '../../shared/text.js';

/**
 * Bytes of text a page of entries may take in a tool result (the rest of the result is a few
 * hundred bytes more): 100 entries with keys of 40 bytes fit, and long keys make a page shorter
 * (fewer entries and a cursor), never an entry cut.
 */
export const PAGE_TEXT_BUDGET = 11 * 1024;

/** What one entry adds to a page's text besides its key: size, date, punctuation. */
export const ENTRY_OVERHEAD = 40;

/** The text bytes one entry takes: its key (JSON-escaped) and any other strings it shows. */
export function entryBytes(...strings: (string | null | undefined)[]): number {
  let n = ENTRY_OVERHEAD;
  for (const s of strings) if (s) n += jsonBytes(s);
  return n;
}
