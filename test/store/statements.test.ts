/** Hot statements (src/store/kysely/statements.ts): compiled once, their params checked against the SQL. */
import { describe, expect, it } from 'vitest';
import { compileStatement, statement } from '../../src/store/kysely/statements.js';
import { sqliteQueryBuilder } from '../../src/store/sqlite.js';
import { postgresQueryBuilder } from '../../src/store/postgres.js';

const done = (params: (status: string, id: number) => unknown[]) =>
  statement({
    name: 'test.done',
    arity: 2,
    build: (qb, pg, [status, id]) => {
      const q = qb.updateTable('job_files').set({ status, lease_owner: null }).where('id', '=', id);
      return pg ? q.where('status', '=', 'pending') : q;
    },
    params,
  });

describe('hot statements', () => {
  it('compile once per dialect; params() lists every parameter in the order the SQL takes them', () => {
    const c = compileStatement(
      done((status, id) => [status, null, id]),
      sqliteQueryBuilder(),
      false,
    );
    expect(c.sql).toBe('update "job_files" set "status" = ?, "lease_owner" = ? where "id" = ?');
    const p = compileStatement(
      done((status, id) => [status, null, id, 'pending']),
      postgresQueryBuilder(),
      true,
    );
    expect(p.sql).toBe('update "job_files" set "status" = $1, "lease_owner" = $2 where "id" = $3 and "status" = $4');
  });

  it('refuses params() out of the SQL order, or missing a constant, on first compile', () => {
    expect(() => compileStatement(done((status, id) => [id, null, status]), sqliteQueryBuilder(), false)).toThrow(/test\.done: params\(\) lists <arg 1>, null, <arg 0>, its SQL takes <arg 0>, null, <arg 1>/);
    expect(() => compileStatement(done((status, id) => [status, null, id]), postgresQueryBuilder(), true)).toThrow(/its SQL takes <arg 0>, null, <arg 1>, "pending"/);
  });

  it('refuses an argument the SQL never takes', () => {
    const s = statement({ name: 'test.unused', arity: 2, build: (qb, _pg, [id]) => qb.selectFrom('jobs').select('id').where('id', '=', id), params: (id: string, _x: string) => [id] });
    expect(() => compileStatement(s, sqliteQueryBuilder(), false)).toThrow(/test\.unused: its SQL never takes <arg 1>/);
  });
});
