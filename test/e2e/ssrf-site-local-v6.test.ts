import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { KEY_ID, SECRET } from '../helpers/s3env.js';

/**
 * The HTTP endpoint policy refuses loopback, private, link-local and unique-local addresses. IPv6
 * site-local addresses (fec0::/10, RFC 3879: deprecated, but still configured and routed inside some
 * networks, and the private range that unique-local fc00::/7 replaced) are refused like fc00::/7 unless
 * --allow-endpoint-cidr lists them, with validate: false too.
 */
describe('IPv6 site-local endpoints over HTTP', () => {
  let srv: HttpServer;
  let c: HttpClient;
  beforeAll(async () => {
    const dataDir = tempDir();
    const key = await createKey(dataDir, 'acme');
    srv = await startHttpServer(dataDir, []);
    c = await connectHttp(srv.url, key);
  });
  afterAll(async () => {
    await c?.close();
    await srv?.stop();
  });

  it.each(['http://[fec0::1]', 'http://[fec0:0:0:ffff::1]:9000', 'http://[feff::10]'])('refuses %s like a unique-local endpoint', async (endpoint) => {
    const r = await c.call('create_connector', {
      name: `site-${Math.random().toString(36).slice(2)}`,
      provider: 's3',
      bucket: 'bucket1',
      endpoint,
      credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET },
      validate: false,
    });
    expect(r.isError, r.text).toBe(true);
    expect(r.data.error).toMatchObject({ kind: 'permission_denied', field: 'endpoint' });
  });
});
