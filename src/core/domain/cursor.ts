import { createHash } from 'node:crypto';
import { invalid } from '../../shared/errors.js';

/** Opaque pagination cursors: base64url JSON, bound to the query that produced them. */
export function encodeCursor(data: Record<string, unknown>, query: unknown = null): string {
  return Buffer.from(JSON.stringify({ ...data, q: queryTag(query) })).toString('base64url');
}

/** What a cursor field holds: a string, a string or null, or a count (a non-negative safe integer). */
export type CursorField = 'string' | 'string?' | 'count';

const FIELD_OK: Record<CursorField, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  'string?': (v) => v === null || typeof v === 'string',
  count: (v) => Number.isSafeInteger(v) && (v as number) >= 0,
};

/**
 * The cursor's data, checked against the query it was made for and against `fields`: a cursor is only
 * tagged with a hash of its query, so one edited by hand (an offset of -5, 2.5 or 1e300) is refused
 * here rather than looping, showing "results 3.5-7.5" or failing in the store.
 */
export function decodeCursor<T extends Record<string, unknown>>(cursor: string | undefined | null, query: unknown, fields: { [K in keyof T]-?: CursorField }): T | null {
  if (!cursor) return null;
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    data = null;
  }
  if (!data || typeof data !== 'object') throw invalid('cursor', 'cursor is not valid', 'Pass next_cursor from the previous result unchanged, or omit it to start over.');
  if ((data as { q?: string }).q !== queryTag(query)) {
    throw invalid('cursor', 'cursor belongs to a different query', 'Repeat the same arguments with the cursor, or omit the cursor to start over.');
  }
  for (const [name, kind] of Object.entries(fields) as [string, CursorField][]) {
    if (!FIELD_OK[kind]((data as Record<string, unknown>)[name])) throw invalid('cursor', 'cursor is not valid', 'Pass next_cursor from the previous result unchanged, or omit it to start over.');
  }
  return data as T;
}

function queryTag(query: unknown): string {
  return createHash('sha256').update(JSON.stringify(query ?? null)).digest('base64url').slice(0, 10);
}
