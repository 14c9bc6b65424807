import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, until } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { pgSchema } from '../helpers/pg.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A text is kept once per content (SHA-256) for the whole store, so it comes from the bytes alone: one
 * organization's import, under whatever key and content type, never decides what another's identical
 * bytes read as, and one organization's reindex_index {all: true} changes nothing another sees.
 */
const BYTES = Buffer.from('Caf\xe9 menu: zeppelin soup', 'latin1'); // Windows-1252 text, not UTF-8

describe.each(['sqlite', 'postgres'] as const)('extracted texts across organizations (%s)', (store) => {
  const pgs = pgSchema('text_per_content');
  let env: S3Env;
  let srv: HttpServer;
  let a: HttpClient;
  let b: HttpClient;

  beforeAll(async () => {
    env = await startS3Env(['acme', 'globex']);
    await env.s3.put('globex', 'blob.bin', BYTES, { contentType: 'application/octet-stream' });
    await env.s3.put('acme', 'menu.txt', BYTES, { contentType: 'text/plain' });
    const dir = tempDir();
    const db = store === 'postgres' ? ['--database-url', pgs.url()] : [];
    const keyArgs = store === 'postgres' ? { env: { CLOUDPORT_DATABASE_URL: pgs.url() } } : {};
    const ka = await createKeyIn(dir, 'acme', keyArgs.env);
    const kb = await createKeyIn(dir, 'globex', keyArgs.env);
    srv = await startHttpServer(dir, ['--allow-endpoint-cidr', '127.0.0.1/32', ...db]);
    a = await connectHttp(srv.url, ka);
    b = await connectHttp(srv.url, kb);
  });
  afterAll(async () => {
    await a?.close().catch(() => {});
    await b?.close().catch(() => {});
    await srv?.stop();
    await env?.stop();
  });

  const importAll = async (c: HttpClient, bucket: string) => {
    const id = (await c.ok('create_connector', env.connector(bucket))).connector.id;
    const { job_id } = await c.ok('start_import', { connector_id: id, index: 'docs' });
    await until('import', async () => ['completed', 'completed_with_errors'].includes((await c.ok('import_status', { job_id })).status));
  };

  it("globex's import of the same bytes does not decide what acme's item reads as", async () => {
    await importAll(b, 'globex'); // globex: the bytes as an octet-stream blob
    await importAll(a, 'acme'); // acme: the same bytes as a text file
    // What acme's own text/plain item would be on a server of its own: its text, found by search.
    const read = await a.ok('read_item', { index: 'docs', key: 'menu.txt' });
    expect(read.text_status).toBe('extracted');
    expect(read.text).toBe('Café menu: zeppelin soup');
    expect((await a.ok('search_index', { query: 'zeppelin' })).results.map((r: { key: string }) => r.key)).toEqual(['menu.txt']);
  });

  it("acme's reindex_index {all: true} leaves globex's item as it was", async () => {
    const before = await b.ok('read_item', { index: 'docs', key: 'blob.bin' });
    const { job_id } = await a.ok('reindex_index', { index: 'docs', all: true });
    await until('reindex', async () => ['completed', 'completed_with_errors'].includes((await a.ok('import_status', { job_id })).status));
    const after = await b.ok('read_item', { index: 'docs', key: 'blob.bin' });
    expect({ status: after.text_status, text: after.text }).toEqual({ status: before.text_status, text: before.text });
    expect((await b.ok('search_index', { query: 'zeppelin' })).results.map((r: { key: string }) => r.key)).toEqual(['blob.bin']);
  });
});

async function createKeyIn(dir: string, org: string, env?: Record<string, string>): Promise<string> {
  if (!env) return createKey(dir, org);
  const { runCli } = await import('../helpers/cloudport.js');
  const r = await runCli(['keys', 'create', '--org', org, '--data-dir', dir], env);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim().split('\n').pop()!;
}
