import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { run, type Dialect, type Tx } from '../ops.js';
import { compileStatement, type Statement } from './statements.js';

/** A compiled hot statement; `name` (PostgreSQL) makes it a named prepared statement. */
export type PreparedQuery<O> = CompiledQuery<O> & { name?: string };

/** Job states in which a job still has work (its files may be claimed, its listing continued). */
export const ACTIVE_JOB = ['queued', 'running'] as const;

/**
 * What every part of the store (kysely/*.ts) builds on: the query builder of its dialect and the runner
 * that a dialect's subclass (sqlite.ts, postgres.ts) provides. Each store method is a generator of ops
 * (see ops.ts) that the runner runs: `exec('tx', …)` in one transaction, `exec('auto', …)` without one
 * (each statement stands alone). Dialect differences are explicit `this.pg` branches: row locks
 * (FOR UPDATE [SKIP LOCKED]) and advisory locks, which SQLite does not need because a write
 * transaction holds the database's only write lock.
 */
export abstract class StoreBase {
  abstract readonly dialect: Dialect;
  protected abstract readonly qb: Kysely<DB>;
  protected abstract exec<T>(mode: 'tx' | 'auto', body: () => Tx<T>): Promise<T>;
  abstract close(): Promise<void>;

  protected get pg(): boolean {
    return this.dialect === 'postgres';
  }

  /** Milliseconds from this host's clock to the store's clock (PostgreSQL: the server's), so leases of processes on several hosts compare on one clock. */
  protected clockOffset = 0;

  /** Epoch ms on the store's clock: what leases are written and compared in. */
  clock(): number {
    return Date.now() + this.clockOffset;
  }

  private readonly compiled = new Map<object, CompiledQuery>();
  /**
   * PostgreSQL prepares a hot statement once per connection under its name (parsed and planned once,
   * not on every run), except a family's (see Statement.sized); names are never reused for other SQL
   * within a store, whose pool owns its connections.
   */
  private readonly names = new Map<object, string>();

  /** A hot statement with its arguments: its SQL as compiled once for this store's dialect, its parameters from `params` (see statements.ts). */
  protected prepared<A extends unknown[], O>(s: Statement<A, O>, ...args: A): Compilable<O> {
    let c = this.compiled.get(s);
    if (!c) {
      c = compileStatement(s, this.qb, this.pg);
      this.compiled.set(s, c);
      if (!s.sized) this.names.set(s, `cp_${this.names.size}`);
    }
    const name = this.pg ? this.names.get(s) : undefined;
    const compiled: PreparedQuery<O> = { query: c.query, queryId: c.queryId, sql: c.sql, parameters: s.params(...args), ...(name ? { name } : {}) };
    return { compile: () => compiled };
  }
}

/**
 * The constructor a part (a mixin: `withQueue(Base)`) extends. Parts depend on StoreBase only, never
 * on each other, so each concern's file reads on its own; kysely-store.ts stacks them into KyselyStore.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a mixin's base constructor must take any arguments
export type Part = abstract new (...args: any[]) => StoreBase;

/** Deletes finished jobs with their files and logs, 200 at a time (retention, and an automation's compacted runs). */
export function* deleteJobs(qb: Kysely<DB>, ids: readonly string[]): Tx<void> {
  for (let i = 0; i < ids.length; i += 200) {
    const batch = ids.slice(i, i + 200);
    yield* run(qb.deleteFrom('job_files').where('job_id', 'in', batch));
    yield* run(qb.deleteFrom('job_logs').where('job_id', 'in', batch));
    yield* run(qb.deleteFrom('jobs').where('id', 'in', batch));
  }
}
