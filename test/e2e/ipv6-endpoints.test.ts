import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';

// IPv6 spellings that deliver to a private IPv4 address (or, for Teredo, to an address nobody can judge).
const EMBEDDED = [
  'http://[::127.0.0.1]:9000', // IPv4-compatible
  'http://[::a9fe:a9fe]', // IPv4-compatible 169.254.169.254
  'http://[::ffff:0:127.0.0.1]', // SIIT
  'http://[::ffff:0:a9fe:a9fe]',
  'http://[64:ff9b::a9fe:a9fe]', // well-known NAT64
  'http://[64:ff9b:1::7f00:1]', // local-use NAT64
  'http://[2002:a9fe:a9fe::1]', // 6to4
  'http://[2002:c0a8:101::1]:9000',
  'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]', // Teredo
];

const connector = (extra: Record<string, unknown>) => ({
  name: `c-${Math.random().toString(36).slice(2, 10)}`,
  provider: 's3',
  bucket: 'bkt',
  validate: false,
  credentials: { type: 'access_key', access_key_id: 'AKIAEXAMPLE', secret_access_key: 'not-a-secret' },
  ...extra,
});

describe('HTTP front door: IPv6 forms that embed a private IPv4 address', () => {
  let dataDir: string;
  let server: HttpServer;
  let c: HttpClient;
  beforeAll(async () => {
    dataDir = tempDir();
    server = await startHttpServer(dataDir);
    c = await connectHttp(server.url, await createKey(dataDir, 'acme'));
  });
  afterAll(async () => {
    await c?.close();
    await server?.stop();
  });

  it('refuses them as endpoint and as sts_endpoint, naming the field', async () => {
    for (const url of EMBEDDED) {
      const e = await c.call('create_connector', connector({ endpoint: url }));
      expect(e.data.error, url).toMatchObject({ kind: 'permission_denied', field: 'endpoint' });
      expect(e.text, url).toMatch(/endpoint policy/);
      const s = await c.call('create_connector', connector({ endpoint: 'https://s3.example.com', sts_endpoint: url }));
      expect(s.data.error, url).toMatchObject({ kind: 'permission_denied', field: 'sts_endpoint' });
    }
  });

  it('still accepts the same forms around a public IPv4 address', async () => {
    for (const url of ['http://[64:ff9b::808:808]', 'http://[2002:808:808::1]', 'http://[::ffff:8.8.8.8]']) {
      const r = await c.call('create_connector', connector({ endpoint: url }));
      expect(r.isError, `${url}: ${r.text}`).toBe(false);
    }
  });

  it('--allow-endpoint-cidr admits an embedded form by its IPv4 address', async () => {
    const allowing = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
    try {
      const a = await connectHttp(allowing.url, await createKey(dataDir, 'acme'));
      const ok = await a.call('create_connector', connector({ endpoint: 'http://[::127.0.0.1]:9000' }));
      expect(ok.isError, ok.text).toBe(false);
      const refused = await a.call('create_connector', connector({ endpoint: 'http://[::127.0.0.2]:9000' }));
      expect(refused.data.error).toMatchObject({ kind: 'permission_denied', field: 'endpoint' });
      await a.close();
    } finally {
      await allowing.stop();
    }
  });
});
