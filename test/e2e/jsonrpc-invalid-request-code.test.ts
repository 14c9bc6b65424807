import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { INIT, createKey, raw, startHttpServer, type HttpServer } from '../helpers/http.js';

/**
 * JSON-RPC 2.0 keeps -32700 (Parse error) for a body that is not JSON, which the README promises, and
 * -32600 (Invalid Request) for JSON that is not a valid request object. A body that parses but is no
 * request (a missing method, an object as id, a bare number) answers -32600 with a message that says
 * what is wrong, not "Parse error", which sends a client looking for broken JSON that is not there.
 */
const ACCEPT = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('valid JSON that is not a JSON-RPC request', () => {
  let srv: HttpServer;
  let key: string;
  let sid: string;
  beforeAll(async () => {
    const dataDir = tempDir();
    key = await createKey(dataDir, 'acme');
    srv = await startHttpServer(dataDir);
    const r = await raw(srv.port, { headers: { ...ACCEPT, host: `127.0.0.1:${srv.port}`, authorization: `Bearer ${key}` }, body: INIT });
    sid = r.headers['mcp-session-id'] as string;
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it.each([
    ['a request without a method', '{"jsonrpc":"2.0","id":5}'],
    ['an object as id', '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}'],
    ['a bare number', '42'],
  ])('%s answers -32600 Invalid Request, not -32700 Parse error', async (_what, body) => {
    const r = await raw(srv.port, { headers: { ...ACCEPT, host: `127.0.0.1:${srv.port}`, authorization: `Bearer ${key}`, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' }, body });
    expect(r.status).toBe(400);
    const err = JSON.parse(r.body).error;
    expect(err.code).toBe(-32600);
    expect(err.message).not.toMatch(/Parse error/);
  });

  it('truly malformed JSON still answers -32700', async () => {
    const r = await raw(srv.port, { headers: { ...ACCEPT, host: `127.0.0.1:${srv.port}`, authorization: `Bearer ${key}`, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' }, body: '{"jsonrpc":' });
    expect(JSON.parse(r.body).error.code).toBe(-32700);
  });
});
