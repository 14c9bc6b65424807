/**
 * Index operations beside jobs over HTTP: delete_index while an import into a new index is queued
 * (refused, not "not found"), tools on such an index saying whom to wait for, and reindex_index
 * {all: true} on PostgreSQL over items that share their content.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startHttpServer, createKey, connectHttp, type HttpServer } from '../helpers/http.js';
import { tempDir } from '../helpers/cloudport.js';
import { startS3 } from '../support/fauxqs.mjs';

const HELLO = 'Hello from acme. The quarterly budget is confidential.\n';
let s3: Awaited<ReturnType<typeof startS3>>;
const servers: HttpServer[] = [];
const schema = `index_jobs_${process.pid}_${Date.now()}`;

beforeAll(async () => {
  s3 = await startS3({ buckets: ['qa-bucket'] });
  for (const k of ['a/1.txt', 'a/2.txt', 'b/1.txt', 'b/2.txt']) await s3.put('qa-bucket', k, HELLO, { contentType: 'text/plain' });
  await s3.put('qa-bucket', 'c/other.txt', 'other words\n', { contentType: 'text/plain' });
});
afterAll(async () => {
  for (const s of servers) await s.stop();
  await s3?.stop();
  const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
});

async function setup(extraArgs: string[], env: Record<string, string> = {}) {
  const dir = tempDir('index-jobs-');
  const dbArgs = extraArgs.includes('--database-url') ? extraArgs.slice(extraArgs.indexOf('--database-url'), extraArgs.indexOf('--database-url') + 2) : [];
  const key = await createKeyWith(dir, dbArgs, env);
  const srv = await startHttpServer(dir, ['--allow-endpoint-cidr', '127.0.0.1/32', ...extraArgs], env);
  servers.push(srv);
  const c = await connectHttp(srv.url, key);
  const conn = await c.ok('create_connector', { name: 'qa', provider: 's3', bucket: 'qa-bucket', region: 'us-east-1', endpoint: s3.endpoint, credentials: { type: 'access_key', access_key_id: 'AKIAQA', secret_access_key: 'qa-secret' } });
  return { c, cid: conn.connector.id as string };
}
async function createKeyWith(dir: string, dbArgs: string[], env: Record<string, string>) {
  if (!dbArgs.length) return createKey(dir, 'acme');
  const { runCli } = await import('../helpers/cloudport.js');
  const r = await runCli(['keys', 'create', '--org', 'acme', '--data-dir', dir, ...dbArgs], env);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim().split('\n').pop()!;
}

describe('index operations beside jobs (HTTP)', () => {
  it('delete_index while an import into a new index is queued is a conflict (README: "Refused while a job on it runs"); reads say whom to wait for', async () => {
    // --workers 0: nothing works the import, so the index has no item for as long as the test looks.
    const { c, cid } = await setup(['--workers', '0']);
    const imp = await c.ok('start_import', { connector_id: cid, index: 'fresh' });
    const del = await c.call('delete_index', { index: 'fresh' });
    expect(del.data.error).toMatchObject({ kind: 'conflict', field: 'index' });
    const list = await c.call('list_index_items', { index: 'fresh' });
    expect(list.data.error).toMatchObject({ kind: 'not_found', field: 'index', temporary: true });
    expect(list.text).toMatch(/index "fresh" has no items yet: 1 job\(s\) writing into it are queued or running/);
    expect(list.text).toContain('list_imports {index: "fresh"}');
    expect((await c.call('search_index', { index: 'fresh', query: 'budget' })).data.error).toMatchObject({ kind: 'not_found', temporary: true });
    // A name nothing writes into is still plainly not found.
    expect((await c.call('list_index_items', { index: 'nothing' })).data.error).toMatchObject({ kind: 'not_found', temporary: false });
    await c.ok('cancel_import', { job_id: imp.job_id });
    await c.close();
  }, 60_000);

  it('reindex_index {all: true} on PostgreSQL does not fail items that share content', async () => {
    const env = { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };
    const { c, cid } = await setup(['--database-url', `postgres://postgres@127.0.0.1:5432/test?schema=${schema}`], env);
    const imp = await c.ok('start_import', { connector_id: cid, index: 'dups' });
    const done = await c.ok('import_status', { job_id: imp.job_id, wait_seconds: 30 });
    expect(done.status).toBe('completed');
    const rx = await c.ok('reindex_index', { index: 'dups', all: true });
    const st = await c.ok('import_status', { job_id: rx.job_id, wait_seconds: 30, files_status: 'failed' });
    // Four files share one content: their replacements of its text run one at a time (each was a unique
    // violation on text_chunks_sha_seq when two ran at once).
    expect(st.files).toEqual([]);
    expect(st.status).toBe('completed');
    await c.close();
  }, 90_000);
});
