import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, raw, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { KEY_ID } from '../helpers/s3env.js';

/**
 * A {file} reference in an allowed directory that is not a regular file (a FIFO here; /dev/zero or
 * /dev/stdin over stdio) is refused at once with its field and a fix, and the server goes on serving
 * every tenant: reading it would block the event loop (a FIFO waits for a writer) or never end.
 */
const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);

describe('file reference to a FIFO in an allowed directory', () => {
  let srv: HttpServer;
  let a: HttpClient;
  let fifo: string;
  beforeAll(async () => {
    const allowed = tempDir('fifo-ref-');
    fifo = path.join(allowed, 'secret');
    execFileSync('mkfifo', [fifo]);
    const dataDir = tempDir();
    const key = await createKey(dataDir, 'acme');
    srv = await startHttpServer(dataDir, ['--allow-file-refs', allowed]);
    a = await connectHttp(srv.url, key);
  });
  afterAll(async () => {
    await srv?.stop('SIGKILL');
  });

  it('answers test_connector with an error naming the field, and the server keeps answering', async () => {
    const c = await a.ok('create_connector', {
      name: 'fifo',
      provider: 's3',
      bucket: 'team',
      endpoint: 'https://s3.example.com',
      credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: { file: fifo } },
      validate: false,
    });
    const test = a.call('test_connector', { connector_id: c.connector.id });
    test.catch(() => undefined);
    // Another request (no key needed) while the reference is being resolved.
    await new Promise((r) => setTimeout(r, 300));
    const health = await within(raw(srv.port, { method: 'GET', path: '/healthz', headers: { host: `127.0.0.1:${srv.port}` } }), 5000);
    expect(health, '/healthz while a {file} reference to a FIFO is resolved').not.toBe('timeout');
    const r = await within(test, 5000);
    expect(r).not.toBe('timeout');
    if (r !== 'timeout') {
      expect(JSON.stringify(r.data)).toContain('credentials.secret_access_key');
    }
  }, 30_000);
});
