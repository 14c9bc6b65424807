import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { createKey, raw, startHttpServer, type HttpServer } from '../helpers/http.js';

/**
 * In --stateless mode there is no session a server message could be routed to, so GET /mcp (the
 * standalone SSE stream of a session) has nothing to carry. It answers at once (405, as the MCP
 * Streamable HTTP transport allows for a server that offers no such stream) instead of holding the
 * connection, and a Server with it, open for as long as the client keeps it: no session limit, idle
 * expiry or body deadline bounds those streams, so a key could pile them up without end, and every MCP
 * SDK client opens one after `initialize`.
 */
const NO_ANSWER_MS = 10_000;

describe('--stateless GET /mcp', () => {
  let dataDir: string;
  let key: string;
  let srv: HttpServer;
  beforeAll(async () => {
    dataDir = tempDir();
    key = await createKey(dataDir, 'acme');
    srv = await startHttpServer(dataDir, ['--stateless']);
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('answers a GET with an error status and ends it, rather than opening an SSE stream that never ends', async () => {
    const r = await Promise.race([
      raw(srv.port, {
        method: 'GET',
        headers: { host: `127.0.0.1:${srv.port}`, accept: 'text/event-stream', authorization: `Bearer ${key}`, 'mcp-protocol-version': '2025-06-18' },
      }),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), NO_ANSWER_MS)),
    ]);
    expect(r, 'GET /mcp in stateless mode was still open').not.toBeNull();
    expect(r!.status).toBeGreaterThanOrEqual(400);
  }, 30_000);
});
