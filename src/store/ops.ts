import type { Compilable } from 'kysely';

/**
 * Store methods are written once, as generators that yield "ops" (run this query, take this lock)
 * and receive the results. A dialect's runner drives them: SQLite synchronously inside one
 * better-sqlite3 transaction (no promise per statement, so bookkeeping stays as fast as plain
 * synchronous code), PostgreSQL asynchronously on one pooled client inside BEGIN … COMMIT.
 *
 *   const rows = yield* all(qb.selectFrom('jobs').selectAll());
 */
export type Dialect = 'sqlite' | 'postgres';

/** Advisory locks, held until the transaction ends. SQLite needs none: its write lock serializes every write transaction. */
export type Lock =
  /** Serializes dedupe decisions (and index deletion) per (organization, index). */
  | { kind: 'index'; org: string; index: string }
  /** Blob GC (exclusive) against recording in-flight hashes (shared). */
  | { kind: 'blobs'; mode: 'shared' | 'exclusive' }
  /** Replacing one content's text: its old rows are deleted and new ones written by one transaction at a time. */
  | { kind: 'text'; sha256: string };

export type Op =
  | { op: 'all'; q: Compilable<unknown> }
  | { op: 'run'; q: Compilable<unknown> }
  | { op: 'lock'; lock: Lock }
  /** Waits for a promise inside the transaction (PostgreSQL only: a SQLite transaction cannot span an await). */
  | { op: 'await'; p: Promise<unknown> };

export type Tx<T> = Generator<Op, T, unknown>;

/** The rows a query returns (none for a statement without RETURNING). */
export function* all<T>(q: Compilable<T>): Tx<T[]> {
  return (yield { op: 'all', q }) as T[];
}

export function* one<T>(q: Compilable<T>): Tx<T | null> {
  const rows = (yield { op: 'all', q }) as T[];
  return rows[0] ?? null;
}

/** Runs a statement; returns the number of rows it changed. */
export function* run(q: Compilable<unknown>): Tx<number> {
  return (yield { op: 'run', q }) as number;
}

export function* lock(l: Lock): Tx<void> {
  yield { op: 'lock', lock: l };
}

export function* wait<T>(p: Promise<T>): Tx<T> {
  return (yield { op: 'await', p }) as T;
}

/** Query parameters as both drivers want them: booleans as 0/1 (the schema stores flags as integers), undefined as NULL. */
export function params(parameters: readonly unknown[]): unknown[] {
  return parameters.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p === undefined ? null : p));
}
