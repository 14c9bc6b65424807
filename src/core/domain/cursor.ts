import { createHash } from 'node:crypto';
import { invalid } from '../../shared/errors.js';

/** Opaque pagination cursors: base64url JSON, bound to the query that produced them. */
export function encodeCursor(data: Record<string, unknown>, query: unknown = null): string {
  return Buffer.from(JSON.stringify({ ...data, q: queryTag(query) })).toString('base64url');
}

export function decodeCursor<T extends Record<string, unknown>>(cursor: string | undefined | null, query: unknown = null): T | null {
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
  return data as T;
}

function queryTag(query: unknown): string {
  return createHash('sha256').update(JSON.stringify(query ?? null)).digest('base64url').slice(0, 10);
}
