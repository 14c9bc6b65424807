import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cloudport.js';

/**
 * README "PostgreSQL store": `?schema=name` uses that schema, "created if missing"; the URL check accepts
 * any identifier of letters, digits and `_`, upper case included. The schema is created and selected
 * quoted alike, so a mixed-case name keeps its case (unquoted, PostgreSQL would fold it to lower case:
 * every start failed, or used a lower-case twin's tables).
 */
describe('?schema= with upper-case letters', () => {
  const schema = `QA_Mixed_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  beforeAll(async () => admin.connect());
  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
  });

  it('keys create works in a schema named with capitals, and its tables live in that schema', async () => {
    const r = await runCli(['keys', 'create', '--org', 'acme', '--data-dir', tempDir(), '--database-url', `postgres://postgres@127.0.0.1:5432/test?schema=${schema}`], { CLOUDPORT_MASTER_KEY: randomBytes(32).toString('base64') });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const t = await admin.query(`SELECT table_schema FROM information_schema.tables WHERE table_name = 'api_keys' AND lower(table_schema) = lower($1)`, [schema]);
    expect(t.rows.map((x) => x.table_schema)).toEqual([schema]);
  }, 30_000);
});
