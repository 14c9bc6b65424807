import { sql, type Compilable, type CompiledQuery, type Expression, type Kysely } from 'kysely';
import type { DB } from '../schema.js';

/**
 * Statements on the per-file hot path (a commit, a claim's inserts, a hash mark), whose SQL is compiled
 * by Kysely once per store instead of on every call: building and compiling a query costs more than
 * running it. A statement is built from slots, stand-ins for its arguments, so the SQL cannot depend on
 * an argument's value (only the dialect shapes it); each run passes `params(...args)`, every parameter
 * of the SQL in order, as the parameter array. When the statement is first compiled, `params` is called
 * with the slots and must give exactly the parameters Kysely compiled (slots where the arguments go,
 * the query's constants as they are), or the compile throws: an order that does not match the SQL fails
 * loudly on first use instead of binding a value to the wrong column.
 */
export interface Statement<A extends unknown[], O> {
  /** Named in errors. */
  readonly name: string;
  /** How many arguments it takes (`build` receives as many slots). */
  readonly arity: number;
  readonly build: (qb: Kysely<DB>, pg: boolean, s: Slots<A>) => Compilable<O>;
  /** Every parameter of the SQL, in order. It only places its arguments (it is checked with the slots), never computes from them. */
  readonly params: (...args: A) => unknown[];
  /** One of a family (a statement per count): PostgreSQL does not keep it prepared, since hundreds of sizes would stay in every connection's memory. */
  readonly sized?: boolean;
}

/** A slot: compiles to one parameter, whose compile-time value is its marker. */
export type Slot = Expression<never>;
export type Slots<A extends unknown[]> = { [K in keyof A]: Slot };

/** The compile-time value of a slot's parameter: identifies the slot in the compiled parameters. */
class Marker {
  constructor(readonly index: number) {}
  toString(): string {
    return `<arg ${this.index}>`;
  }
}

export function statement<A extends unknown[], O>(s: Statement<A, O>): Statement<A, O> {
  return s;
}

/** Statements whose shape depends on a count (rows of a multi-row insert, keys of an IN list): one statement per count, made once. */
export function family<A extends unknown[], O>(make: (n: number) => Statement<A, O>): (n: number) => Statement<A, O> {
  const made = new Map<number, Statement<A, O>>();
  return (n) => {
    let s = made.get(n);
    if (!s) made.set(n, (s = { ...make(n), sized: true }));
    return s;
  };
}

/** A statement whose params() do not match its SQL: a bug, never a reason to try another way. */
export class StatementMismatch extends Error {}

const show = (ps: readonly unknown[]) => ps.map((p) => (p instanceof Marker ? String(p) : JSON.stringify(p))).join(', ');

/** Compiles a statement for one dialect and checks that its `params` match the SQL (see Statement). */
export function compileStatement<A extends unknown[], O>(s: Statement<A, O>, qb: Kysely<DB>, pg: boolean): CompiledQuery<O> {
  const markers = Array.from({ length: s.arity }, (_, i) => new Marker(i));
  const c = s.build(qb, pg, markers.map((m) => sql.val(m) as unknown as Slot) as Slots<A>).compile();
  const listed = s.params(...(markers as unknown as A));
  const same = listed.length === c.parameters.length && listed.every((p, i) => Object.is(p, c.parameters[i]));
  if (!same) throw new StatementMismatch(`statement ${s.name}: params() lists ${show(listed)}, its SQL takes ${show(c.parameters)}`);
  const unused = markers.filter((m) => !c.parameters.includes(m));
  if (unused.length) throw new StatementMismatch(`statement ${s.name}: its SQL never takes ${show(unused)}`);
  return c;
}
