import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, until } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Over HTTP, a next_cursor is bound to the organization whose call made it, as to its arguments: another
 * organization's identical search (same query, same index name) refuses it as a cursor error
 * (config_invalid [cursor]) instead of paging its own results from the other's offset.
 */
describe('a search cursor of another organization', () => {
  let env: S3Env;
  let srv: HttpServer;
  let a: HttpClient;
  let b: HttpClient;

  beforeAll(async () => {
    env = await startS3Env(['acme', 'globex']);
    for (let i = 0; i < 15; i++) await env.s3.put('acme', `a/${i}.txt`, `hello from acme ${i}`, { contentType: 'text/plain' });
    for (let i = 0; i < 12; i++) await env.s3.put('globex', `g/${i}.txt`, `hello from globex ${i}`, { contentType: 'text/plain' });
    const dataDir = tempDir();
    const ka = await createKey(dataDir, 'acme');
    const kb = await createKey(dataDir, 'globex');
    srv = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
    a = await connectHttp(srv.url, ka);
    b = await connectHttp(srv.url, kb);
    for (const [c, bucket] of [[a, 'acme'], [b, 'globex']] as const) {
      const id = (await c.ok('create_connector', env.connector(bucket))).connector.id;
      const job = await c.ok('start_import', { connector_id: id, index: 'docs' });
      await until('import', async () => (await c.ok('import_status', { job_id: job.job_id })).status === 'completed', 60_000);
    }
  }, 120_000);
  afterAll(async () => {
    await a?.close().catch(() => {});
    await b?.close().catch(() => {});
    await srv?.stop();
    await env?.stop();
  });

  it('is refused as a cursor error, not used as an offset into this organization\'s results', async () => {
    const first = await a.ok('search_index', { query: 'hello', index: 'docs', limit: 5 });
    expect(first.next_cursor).toBeTruthy();
    const r = await b.call('search_index', { query: 'hello', index: 'docs', limit: 5, cursor: first.next_cursor });
    expect({ isError: r.isError, text: r.text.split('\n')[0] }).toMatchObject({ isError: true, text: expect.stringMatching(/^config_invalid: .*\[cursor\]/) });
  });
});
