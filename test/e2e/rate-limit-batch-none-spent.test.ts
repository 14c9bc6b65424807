import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { createKey, raw, startHttpServer, type HttpServer } from '../helpers/http.js';

/**
 * The rate limit spends a batch's tokens "all or none" (README, Run it for a team): a batch refused
 * with 429 because too few tokens are left spends none of them, so the requests the key had left still
 * pass one by one. (Tokens come back at 4 a minute here, one per 15 s: a slow run can only make this
 * pass, never fail.)
 */
const ACCEPT = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INIT_0326 = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

describe('a batch refused by the rate limit', () => {
  let srv: HttpServer;
  let key: string;
  beforeAll(async () => {
    const dataDir = tempDir();
    key = await createKey(dataDir, 'acme');
    srv = await startHttpServer(dataDir, ['--rate-limit', '4']);
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('spends no token: the requests left still pass one by one', async () => {
    const h = (extra: Record<string, string> = {}) => ({ ...ACCEPT, host: `127.0.0.1:${srv.port}`, authorization: `Bearer ${key}`, ...extra });
    const init = await raw(srv.port, { headers: h(), body: INIT_0326 }); // 1 token spent, 3 left
    expect(init.status).toBe(200);
    const sid = { 'mcp-session-id': init.headers['mcp-session-id'] as string, 'mcp-protocol-version': '2025-03-26' };
    const ping = (id: number) => ({ jsonrpc: '2.0', id, method: 'ping' });
    const batch = await raw(srv.port, { headers: h(sid), body: JSON.stringify([ping(10), ping(11), ping(12), ping(13)]) });
    expect(batch.status).toBe(429);
    expect(Number(batch.headers['retry-after'])).toBeGreaterThan(0);
    const singles: number[] = [];
    for (let i = 0; i < 3; i++) singles.push((await raw(srv.port, { headers: h(sid), body: JSON.stringify(ping(20 + i)) })).status);
    expect(singles).toEqual([200, 200, 200]);
  });
});
