import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { INIT, createKey, raw, startHttpServer, type HttpServer } from '../helpers/http.js';

/**
 * The front door under abuse: batches against the rate limit, slow bodies, failed-auth floods, idle and
 * surplus sessions, and what /healthz tells a caller without a key. Every case drives the built server over
 * real HTTP on 127.0.0.1. Timers here only stop a case that would otherwise hang (the faults being fixed
 * are "never answers"); assertions are about behaviour, never about how long something took.
 */
const ACCEPT = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
/** Upper bound for "the server never answers": a case that waits this long has failed. */
const NO_ANSWER_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const headers = (s: HttpServer, key?: string, extra: Record<string, string> = {}) => ({
  ...ACCEPT,
  host: `127.0.0.1:${s.port}`,
  ...(key ? { authorization: `Bearer ${key}` } : {}),
  ...extra,
});

async function openSession(s: HttpServer, key: string): Promise<string> {
  const r = await raw(s.port, { headers: headers(s, key), body: INIT });
  expect(r.status, r.body).toBe(200);
  return r.headers['mcp-session-id'] as string;
}

const ping = (s: HttpServer, key: string, sid: string) =>
  raw(s.port, { headers: headers(s, key, { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' }), body: JSON.stringify({ jsonrpc: '2.0', id: 'p', method: 'ping' }) });

/**
 * Writes a request head (and optionally a first body byte, then one more byte every `trickleMs`) on a raw
 * socket and collects what comes back until the server closes the connection. `closedByServer` is false
 * when nothing closed it within NO_ANSWER_MS.
 */
function trickle(port: number, head: string, trickleMs?: number): Promise<{ text: string; status: number | null; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const done = (closedByServer: boolean) => {
      clearTimeout(guard);
      clearInterval(timer);
      sock.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : null, closedByServer });
    };
    const guard = setTimeout(() => done(false), NO_ANSWER_MS);
    sock.on('connect', () => {
      sock.write(head);
      if (trickleMs) timer = setInterval(() => sock.writable && sock.write('x'), trickleMs);
    });
    sock.on('data', (d) => (text += d.toString()));
    sock.on('error', () => undefined); // a write after the server closed; the close event follows
    sock.on('close', () => done(true));
  });
}

const postHead = (port: number, auth: string | null, contentLength: number) =>
  `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
  `${auth ? `Authorization: ${auth}\r\n` : ''}Content-Length: ${contentLength}\r\n\r\n{`;

describe('HTTP front door hardening', () => {
  let dataDir: string;
  let keyA: string;
  let keyB: string;

  beforeAll(async () => {
    dataDir = tempDir();
    keyA = await createKey(dataDir, 'acme');
    keyB = await createKey(dataDir, 'globex');
  });

  describe('rate limit counts JSON-RPC requests, not HTTP requests', () => {
    let s: HttpServer;
    beforeAll(async () => {
      s = await startHttpServer(dataDir, ['--rate-limit', '5']);
    });
    afterAll(async () => void (await s?.stop()));

    const batch = (key: string, n: number, sid: string) =>
      raw(s.port, {
        headers: headers(s, key, { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' }),
        body: JSON.stringify(Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: 'list_connectors', arguments: {} } }))),
      });

    it('a batch of 100 tool calls does not pass a limit of 5 per minute, and no call in it runs', async () => {
      const sid = await openSession(s, keyA); // 1 of 5
      const r = await batch(keyA, 100, sid);
      expect(r.status).toBe(429);
      const body = JSON.parse(r.body);
      expect(body.error.code).toBe(-32000);
      expect(body.error.message).toMatch(/batch of 100 requests.*5 per minute/);
      expect(r.body).not.toContain('connectors');
    });

    it('a batch spends one token per request: 3 pass, the next 3 find too few tokens left and get 429 with Retry-After', async () => {
      const sid = await openSession(s, keyB); // 1 of 5
      const ok = await batch(keyB, 3, sid); // 4 of 5
      expect(ok.status).toBe(200);
      expect(ok.body.match(/"connectors"/g)).toHaveLength(3);
      const refused = await batch(keyB, 3, sid); // 1 token left, 3 asked
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(JSON.parse(refused.body).error.code).toBe(-32000);
    });

    it('an initialize inside a batch is refused with what to do instead', async () => {
      const keyC = await createKey(dataDir, 'acme');
      const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'batch', version: '1' } } };
      const r = await raw(s.port, { headers: headers(s, keyC), body: JSON.stringify([init, { jsonrpc: '2.0', method: 'notifications/initialized' }]) });
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body).error).toMatchObject({ code: -32600, message: expect.stringMatching(/initialize must be sent alone/) });
    });
  });

  describe('slow bodies, failed authentications, idle and surplus sessions', () => {
    let s: HttpServer;
    beforeAll(async () => {
      s = await startHttpServer(dataDir, [], { CLOUDPORT_BODY_TIMEOUT_MS: '400', CLOUDPORT_SESSION_IDLE_MS: '800', CLOUDPORT_MAX_SESSIONS_PER_KEY: '2' });
    });
    afterAll(async () => void (await s?.stop()));

    it('answers 401 on the headers, without waiting for a body that trickles in, and closes the connection', async () => {
      const results = await Promise.all([
        trickle(s.port, postHead(s.port, 'Bearer cpk_wrong', 10_000), 200),
        trickle(s.port, postHead(s.port, null, 10_000), 200),
        ...Array.from({ length: 8 }, () => trickle(s.port, postHead(s.port, 'Bearer cpk_wrong', 10_000), 200)),
      ]);
      for (const r of results) {
        expect(r.status, r.text).toBe(401);
        expect(r.text).toMatch(/www-authenticate: Bearer realm="cloudport"/i);
        expect(r.closedByServer).toBe(true);
      }
    });

    it('gives an authenticated body its own deadline: a trickling body gets 408 and the connection is closed', async () => {
      // One byte every 100 ms keeps the connection busy, so only a deadline on the whole body ends it.
      const r = await trickle(s.port, postHead(s.port, `Bearer ${keyA}`, 10_000), 100);
      expect(r.status, r.text).toBe(408);
      expect(JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)).error.code).toBe(-32000);
      expect(r.closedByServer).toBe(true);
      // The server still serves complete requests.
      expect((await raw(s.port, { headers: headers(s, keyA), body: INIT })).status).toBe(200);
    });

    it('keeps an SSE GET stream open past the body deadline and its session alive past the idle time; closes idle sessions', async () => {
      const streaming = await openSession(s, keyA);
      const idle = await openSession(s, keyB);
      const stream = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: s.port, method: 'GET', path: '/mcp', headers: { host: `127.0.0.1:${s.port}`, accept: 'text/event-stream', authorization: `Bearer ${keyA}`, 'mcp-session-id': streaming } },
          resolve,
        );
        req.on('error', reject);
        req.end();
      });
      onTestFinished(() => void stream.destroy());
      expect(stream.statusCode).toBe(200);
      expect(stream.headers['content-type']).toBe('text/event-stream');
      let closed = false;
      stream.on('close', () => (closed = true));
      stream.resume();
      // Several body deadlines (400 ms) and idle times (800 ms) pass.
      await sleep(3_000);
      expect(closed).toBe(false);
      expect((await ping(s, keyA, streaming)).status).toBe(200);
      const gone = await ping(s, keyB, idle);
      expect(gone.status).toBe(404);
      expect(JSON.parse(gone.body).error.message).toMatch(/^Session not found: it expired, was closed, or belongs to another key; send initialize again/);
      stream.destroy();
    });

    it('holds at most CLOUDPORT_MAX_SESSIONS_PER_KEY sessions per key: a new initialize closes the least recently used one', async () => {
      // A server of its own whose sessions do not idle out: only the cap may close one here, however slow the machine.
      const s = await startHttpServer(dataDir, [], { CLOUDPORT_MAX_SESSIONS_PER_KEY: '2' });
      onTestFinished(async () => void (await s.stop()));
      const a1 = await openSession(s, keyA);
      const a2 = await openSession(s, keyA);
      const b1 = await openSession(s, keyB);
      expect((await ping(s, keyA, a1)).status).toBe(200); // a1 is now more recent than a2
      const a3 = await openSession(s, keyA);
      expect((await ping(s, keyA, a2)).status).toBe(404);
      expect((await ping(s, keyA, a1)).status).toBe(200);
      expect((await ping(s, keyA, a3)).status).toBe(200);
      expect((await ping(s, keyB, b1)).status).toBe(200); // another key's sessions are not touched
    });
  });

  it('limits failed authentications per remote address: 429 with Retry-After beyond, before any key lookup; keys that worked lately still pass', async () => {
    const s = await startHttpServer(dataDir, ['--auth-failure-limit', '5']);
    onTestFinished(() => void s.stop());
    expect((await raw(s.port, { headers: headers(s, keyA), body: INIT })).status).toBe(200);
    const statuses: number[] = [];
    let retry: string | undefined;
    for (let i = 0; i < 8; i++) {
      const r = await raw(s.port, { headers: headers(s, i % 2 ? 'cpk_wrong' : undefined), body: INIT });
      statuses.push(r.status);
      if (r.status === 429) {
        retry ??= r.headers['retry-after'] as string;
        expect(JSON.parse(r.body).error.message).toMatch(/too many failed authentications/);
      }
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    expect(Number(retry)).toBeGreaterThan(0);
    // A key not seen lately waits like a guess would; one that authenticated lately still passes, so a flood
    // of bad keys through a shared reverse proxy does not lock out the clients already working.
    expect((await raw(s.port, { headers: headers(s, keyB), body: INIT })).status).toBe(429);
    expect((await raw(s.port, { headers: headers(s, keyA), body: INIT })).status).toBe(200);
  });

  it('/healthz tells a caller without a key only liveness; a valid key adds store and this process, nothing per tenant', async () => {
    const s = await startHttpServer(dataDir, ['--workers', '3']);
    onTestFinished(() => void s.stop());
    const get = (key?: string) => raw(s.port, { method: 'GET', path: '/healthz', headers: { host: `127.0.0.1:${s.port}`, ...(key ? { authorization: `Bearer ${key}` } : {}) } });
    let r = await get();
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true });
    r = await get('cpk_wrong');
    expect(r.status).toBe(401);
    expect(r.body).not.toContain('store');
    r = await get(keyA);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true, store: 'ok', workers: { concurrency: 3 } });
  });
});
