import { sql, type RawBuilder } from 'kysely';

/**
 * PostgreSQL advisory lock keys (two int4 keys each; the first is a key space, "clp" + n). The store's
 * `lock` op takes them, and a few batch statements take them inline to save a round trip.
 */
export const LOCK_NS = 0x636c7000;
export const LOCK_MIGRATE = [LOCK_NS, 1] as const;
/** Blob GC (exclusive) against hash marks (shared). */
export const LOCK_BLOBS = [LOCK_NS, 2] as const;
/** One index's commits: the second key is hashtext(indexLockName(org, index)). */
export const LOCK_INDEX_NS = LOCK_NS + 1;
/** One content's text being replaced (reindex all): the second key is hashtext(sha256). */
export const LOCK_TEXT_NS = LOCK_NS + 2;

export function indexLockName(org: string, index: string): string {
  return `${org}\u0001${index}`;
}

/** The blob lock, shared, as an expression a batch statement selects (so the statement takes it inline). */
export function sharedBlobLock(): RawBuilder<unknown> {
  return sql`pg_advisory_xact_lock_shared(${sql.lit(LOCK_BLOBS[0])}, ${sql.lit(LOCK_BLOBS[1])})`;
}
