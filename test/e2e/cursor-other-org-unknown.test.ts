import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { KEY_ID, SECRET, startS3Env, uniqueName, type S3Env } from '../helpers/s3env.js';

/**
 * "Another organization's id answers exactly like an unknown id" holds for cursors too: a next_cursor
 * made by organization A, passed by organization B with B's own identical arguments, answers like a
 * cursor B made up ("cursor is not valid"), not "cursor belongs to a different query" with the fix
 * "Repeat the same arguments with the cursor", which B did, and which tells B that the string is a
 * real cursor of this deployment.
 */
describe('a cursor of another organization', () => {
  let env: S3Env;
  let srv: HttpServer;
  let a: HttpClient;
  let b: HttpClient;
  const connector = () => ({ name: uniqueName(), provider: 's3', bucket: 'team', endpoint: env.proxy.endpoint, credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET } });

  beforeAll(async () => {
    env = await startS3Env(['team']);
    for (let i = 0; i < 5; i++) await env.s3.put('team', `docs/${i}.txt`, `hello ${i}`);
    const dataDir = tempDir();
    const keyA = await createKey(dataDir, 'acme');
    const keyB = await createKey(dataDir, 'globex');
    srv = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
    a = await connectHttp(srv.url, keyA);
    b = await connectHttp(srv.url, keyB);
    for (const c of [a, b]) {
      const { connector: conn } = await c.ok('create_connector', connector());
      const job = await c.ok('start_import', { connector_id: conn.id, index: 'docs' });
      await c.client.callTool({ name: 'import_status', arguments: { job_id: job.job_id, wait_seconds: 30 } });
    }
  }, 120_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await srv?.stop();
    await env?.stop();
  });

  it('list_index_items: answers exactly like a made-up cursor', async () => {
    const pageA = await a.ok('list_index_items', { index: 'docs', limit: 2 });
    expect(pageA.next_cursor).toBeTruthy();
    const foreign = await b.call('list_index_items', { index: 'docs', limit: 2, cursor: pageA.next_cursor });
    const madeUp = await b.call('list_index_items', { index: 'docs', limit: 2, cursor: Buffer.alloc(48, 7).toString('base64url') });
    expect(madeUp.isError).toBe(true);
    expect(foreign.isError).toBe(true);
    expect(foreign.text).toBe(madeUp.text);
    expect(foreign.data).toEqual(madeUp.data);
  });

  it('list_indexes: answers exactly like a made-up cursor', async () => {
    const job = await a.ok('start_import', { connector_id: (await a.ok('list_connectors')).connectors[0].id, index: 'docs2' });
    await a.client.callTool({ name: 'import_status', arguments: { job_id: job.job_id, wait_seconds: 30 } });
    const pageA = await a.ok('list_indexes', { limit: 1 });
    expect(pageA.next_cursor).toBeTruthy();
    const foreign = await b.call('list_indexes', { limit: 1, cursor: pageA.next_cursor });
    const madeUp = await b.call('list_indexes', { limit: 1, cursor: Buffer.alloc(48, 7).toString('base64url') });
    expect(foreign.isError).toBe(true);
    expect(foreign.text).toBe(madeUp.text);
  });
});
