import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { DB } from '../schema.js';
import type { Dialect, Tx } from '../ops.js';

/** Job states in which a job still has work (its files may be claimed, its listing continued). */
export const ACTIVE_JOB = ['queued', 'running'] as const;

/** Placeholder arguments of a prepared query (see StoreBase.prep); only ever compiled, never stored. */
const ARG = (i: number) => `\u0000arg${i}\u0000`;
const ARG_RE = /^\u0000arg(\d+)\u0000$/;

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

  private readonly prepared = new Map<string, CompiledQuery>();

  /**
   * A query on the per-file hot path, built and compiled once: `build` receives placeholders, and each
   * call substitutes its `args` for them. Only arguments vary; the query's shape must not depend on them.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  protected prep<O>(name: string, build: (...args: any[]) => Compilable<O>, args: unknown[]): Compilable<O> {
    let c = this.prepared.get(name);
    if (!c) {
      c = build(...args.map((_, i) => ARG(i))).compile();
      this.prepared.set(name, c);
    }
    const base = c;
    return {
      compile: () =>
        ({
          ...base,
          parameters: base.parameters.map((p) => {
            const m = typeof p === 'string' ? ARG_RE.exec(p) : null;
            return m ? args[Number(m[1])] : p;
          }),
        }) as CompiledQuery<O>,
    };
  }
}

/**
 * The constructor a part (a mixin: `withQueue(Base)`) extends. Parts depend on StoreBase only, never
 * on each other, so each concern's file reads on its own; kysely-store.ts stacks them into KyselyStore.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a mixin's base constructor must take any arguments
export type Part = abstract new (...args: any[]) => StoreBase;
