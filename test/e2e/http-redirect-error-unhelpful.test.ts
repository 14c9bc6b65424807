/**
 * An S3-compatible endpoint that answers with a redirect (a proxy sending http:// to https://, a moved
 * host) is never followed over HTTP (the endpoint policy), and the agent is told what happened: the
 * refusal names the redirect and the `endpoint` field with a fix (use the URL it redirects to), in
 * test_connector's check and in start_import's error alike, rather than "unexpected: storage request
 * failed: Unknown" with no field and no fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpServer } from '../helpers/http.js';
import { KEY_ID, SECRET, startS3Env, uniqueName, type S3Env } from '../helpers/s3env.js';

describe('a redirecting S3 endpoint over HTTP', () => {
  let env: S3Env;
  let srv: HttpServer;
  let dataDir: string;
  beforeAll(async () => {
    env = await startS3Env(['redirected']);
    await env.s3.put('redirected', 'f/0.txt', 'hello');
    dataDir = tempDir();
    srv = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
  });
  afterAll(async () => {
    await srv?.stop();
    await env?.stop();
  });

  it('names the redirect, the endpoint field and a fix', async () => {
    const c = await connectHttp(srv.url, await createKey(dataDir, 'acme'));
    const { connector } = await c.ok('create_connector', {
      name: uniqueName(),
      provider: 's3',
      bucket: 'redirected',
      endpoint: env.proxy.endpoint,
      credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET },
    });
    // The server now sends every request elsewhere, as an http -> https upgrade does.
    env.proxy.addFault({ match: {}, times: 1000, action: { type: 'status', status: 301, body: '', headers: { location: 'https://storage.example.com/redirected' } } });
    const imp = await c.call('start_import', { connector_id: connector.id, index: 'r', keys: ['f/0.txt'] });
    expect(imp.isError).toBe(true);
    expect(imp.text).not.toMatch(/Unknown/);
    expect(imp.text).toMatch(/redirect/i);
    expect(imp.data.error.kind).not.toBe('unexpected');
    expect(imp.data.error.field).toBe('endpoint');
    expect(imp.data.error.fix).toBeTruthy();

    const t = await c.ok('test_connector', { connector_id: connector.id });
    expect(t.success).toBe(false);
    expect(t.checks[0].detail).toMatch(/redirect/i);
    expect(t.checks[0].detail).not.toMatch(/Http301/);
    env.proxy.clearFaults();
    await c.close();
  });
});
