import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, until } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * README "Run it for a team": over HTTP each organization sees its own. search_index's score of an
 * organization's own item does not depend on what another organization imported (scores are relative
 * to the search's best result; SQLite's BM25 weighs words by the whole store's passages).
 */
describe('search scores and other organizations (HTTP, SQLite store)', () => {
  let env: S3Env;
  let srv: HttpServer;
  let a: HttpClient;
  let b: HttpClient;
  let dataDir: string;

  beforeAll(async () => {
    env = await startS3Env(['acme', 'globex']);
    await env.s3.put('acme', 'canary.txt', 'quarterly notes mention projectzephyr once among other words', { contentType: 'text/plain' });
    for (let i = 0; i < 30; i++) await env.s3.put('acme', `other/${i}.txt`, `quarterly notes about nothing in particular ${i}`, { contentType: 'text/plain' });
    // globex's documents first hold another word of the same length.
    for (let i = 0; i < 20; i++) await env.s3.put('globex', `secret/${i}.txt`, `globex confidential projectalpha12 plan ${i}`, { contentType: 'text/plain' });
    dataDir = tempDir();
    const ka = await createKey(dataDir, 'acme');
    const kb = await createKey(dataDir, 'globex');
    srv = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
    a = await connectHttp(srv.url, ka);
    b = await connectHttp(srv.url, kb);
  }, 60_000);
  afterAll(async () => {
    await a?.close().catch(() => {});
    await b?.close().catch(() => {});
    await srv?.stop();
    await env?.stop();
  });

  const importInto = async (c: HttpClient, bucket: string) => {
    const id = (await c.ok('create_connector', env.connector(bucket))).connector.id;
    const job = await c.ok('start_import', { connector_id: id, index: 'docs' });
    await until('import', async () => ['completed', 'completed_with_errors'].includes((await c.ok('import_status', { job_id: job.job_id })).status), 60_000);
  };

  it("acme's score for its own item does not change when globex's documents come to hold the word", async () => {
    await importInto(a, 'acme');
    await importInto(b, 'globex');
    const before = await a.ok('search_index', { query: 'projectzephyr' });
    expect(before.results.map((r: { key: string }) => r.key)).toEqual(['canary.txt']);
    // globex's documents change one word for another (same number of documents, of words, of characters) and are imported again.
    for (let i = 0; i < 20; i++) await env.s3.put('globex', `secret/${i}.txt`, `globex confidential projectzephyr plan ${i}`, { contentType: 'text/plain' });
    const job = await b.ok('start_import', { connector_id: (await b.ok('list_connectors', {})).connectors[0].id, index: 'docs' });
    await until('re-import', async () => (await b.ok('import_status', { job_id: job.job_id })).status === 'completed', 60_000);
    expect((await b.ok('search_index', { query: 'projectzephyr' })).total_estimate).toBe(20);
    // globex's documents are not acme's results…
    const after = await a.ok('search_index', { query: 'projectzephyr' });
    expect(after.results.map((r: { key: string }) => r.key)).toEqual(['canary.txt']);
    expect(after.total_estimate).toBe(1);
    // …and must not change what acme sees either.
    expect(after.results[0].score).toBe(before.results[0].score);
  }, 120_000);
});
