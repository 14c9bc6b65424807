import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, until } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Nothing of another organization may be confirmed to exist: delete_item's blob_removed and
 * delete_index's blobs_removed count from the caller's side (contents its organization holds no more),
 * so deleting an item of one's own never tells whether another tenant holds exactly those bytes.
 */
describe('delete_item / delete_index do not tell whether another organization holds the same bytes', () => {
  let env: S3Env;
  let srv: HttpServer;
  let a: HttpClient;
  let b: HttpClient;

  beforeAll(async () => {
    env = await startS3Env(['acme', 'globex']);
    await env.s3.put('globex', 'leaked.txt', 'the merger closes on friday', { contentType: 'text/plain' });
    await env.s3.put('globex', 'leaked-2.txt', 'layoffs in march', { contentType: 'text/plain' });
    // Per acme index: one file whose bytes globex holds, one whose bytes nobody else holds.
    await env.s3.put('acme', 'p1/guess-1.txt', 'the merger closes on friday', { contentType: 'text/plain' });
    await env.s3.put('acme', 'p1/guess-2.txt', 'the merger closes on monday', { contentType: 'text/plain' });
    await env.s3.put('acme', 'p2/guess-1.txt', 'layoffs in march', { contentType: 'text/plain' });
    await env.s3.put('acme', 'p2/guess-2.txt', 'layoffs in april', { contentType: 'text/plain' });
    const dir = tempDir();
    const ka = await createKey(dir, 'acme');
    const kb = await createKey(dir, 'globex');
    srv = await startHttpServer(dir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
    a = await connectHttp(srv.url, ka);
    b = await connectHttp(srv.url, kb);
    for (const [c, bucket, index, prefix] of [[b, 'globex', 'docs', ''], [a, 'acme', 'one', 'p1/'], [a, 'acme', 'two', 'p2/']] as const) {
      const id = (await c.ok('create_connector', env.connector(bucket))).connector.id;
      const { job_id } = await c.ok('start_import', { connector_id: id, index, prefix });
      await until('import', async () => (await c.ok('import_status', { job_id })).status === 'completed');
    }
  });
  afterAll(async () => {
    await a?.close().catch(() => {});
    await b?.close().catch(() => {});
    await srv?.stop();
    await env?.stop();
  });

  it('delete_item answers alike for bytes globex holds and bytes nobody else holds', async () => {
    const held = await a.ok('delete_item', { index: 'one', key: 'p1/guess-1.txt' });
    const alone = await a.ok('delete_item', { index: 'one', key: 'p1/guess-2.txt' });
    // Both were acme's last item with that content: from acme's side they are the same case.
    expect(held.blob_removed).toBe(alone.blob_removed);
  });

  it("delete_index counts acme's own contents only", async () => {
    const r = await a.ok('delete_index', { index: 'two' });
    expect(r.items_deleted).toBe(2);
    expect(r.blobs_removed).toBe(2);
    // globex's item is intact either way.
    expect((await b.ok('read_item', { index: 'docs', key: 'leaked.txt' })).text).toBe('the merger closes on friday');
  });
});
