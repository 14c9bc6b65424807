import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { invalid } from '../../shared/errors.js';

/**
 * Pagination cursors: JSON bound to the query that produced them, sealed with AES-256-GCM. Sealed, a
 * cursor is opaque and cannot be edited: some hold row ids the store numbers for every organization
 * (a job's files, log lines), which read in the clear would let an organization count what others
 * wrote between two of its own pages.
 */
let cursorKey = randomBytes(32);

/**
 * Seals cursors with a key derived from the master key, so every process of a deployment (front doors
 * behind one address) and a restarted one read each other's cursors. Until then, a key of this process.
 */
export function useCursorKey(masterKey: Buffer): void {
  cursorKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'cloudport pagination cursors', 32));
}

const IV = 12;
const TAG = 16;

/** A cursor for `org`'s next page of `query`: another organization's call refuses it as not valid, another query as a different query. */
export function encodeCursor(org: string, data: Record<string, unknown>, query: unknown = null): string {
  const iv = randomBytes(IV);
  const c = createCipheriv('aes-256-gcm', cursorKey, iv);
  // The organization is authenticated data: under another one the cursor does not open, and reads as
  // made up (no answer tells an organization that a string is a cursor of this deployment).
  c.setAAD(Buffer.from(org, 'utf8'));
  const body = Buffer.concat([c.update(JSON.stringify({ ...data, q: queryTag(org, query) }), 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
}

/** The cursor's JSON, or null when it is not one this deployment sealed (edited, cut, made up). */
function unseal(cursor: string, org: string): unknown {
  const raw = Buffer.from(cursor, 'base64url');
  if (raw.length <= IV + TAG) return null;
  try {
    const d = createDecipheriv('aes-256-gcm', cursorKey, raw.subarray(0, IV));
    d.setAuthTag(raw.subarray(IV, IV + TAG));
    d.setAAD(Buffer.from(org, 'utf8'));
    return JSON.parse(Buffer.concat([d.update(raw.subarray(IV + TAG)), d.final()]).toString('utf8'));
  } catch {
    return null;
  }
}

/** What a cursor field holds: a string, a string or null, or a count (a non-negative safe integer). */
export type CursorField = 'string' | 'string?' | 'count';

const FIELD_OK: Record<CursorField, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  'string?': (v) => v === null || typeof v === 'string',
  count: (v) => Number.isSafeInteger(v) && (v as number) >= 0,
};

/**
 * The cursor's data, checked against the query it was made for and against `fields` (a cursor sealed
 * under a key that leaked, or a bug, still never reaches the store with an offset of -5, 2.5 or 1e300).
 */
export function decodeCursor<T extends Record<string, unknown>>(org: string, cursor: string | undefined | null, query: unknown, fields: { [K in keyof T]-?: CursorField }): T | null {
  if (!cursor) return null;
  const data = unseal(cursor, org);
  if (!data || typeof data !== 'object') throw invalid('cursor', 'cursor is not valid', 'Pass next_cursor from the previous result unchanged, or omit it to start over.');
  if ((data as { q?: string }).q !== queryTag(org, query)) {
    throw invalid('cursor', 'cursor belongs to a different query', 'Repeat the same arguments with the cursor, or omit the cursor to start over.');
  }
  for (const [name, kind] of Object.entries(fields) as [string, CursorField][]) {
    if (!FIELD_OK[kind]((data as Record<string, unknown>)[name])) throw invalid('cursor', 'cursor is not valid', 'Pass next_cursor from the previous result unchanged, or omit it to start over.');
  }
  return data as T;
}

function queryTag(org: string, query: unknown): string {
  return createHash('sha256').update(JSON.stringify([org, query ?? null])).digest('base64url').slice(0, 10);
}
