import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

/**
 * A PostgreSQL schema of the test's own on the local server (dropped after the file), an admin client
 * to look into it, and the processes the test starts there (killed after it, if still running).
 */
export function pgSchema(prefix: string) {
  const schema = `${prefix}_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  const procs: ChildProcess[] = [];
  beforeAll(async () => {
    await admin.connect();
  });
  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
  });
  return { schema, admin, procs, url: (port = 5432) => `postgres://postgres@127.0.0.1:${port}/test?schema=${schema}` };
}
