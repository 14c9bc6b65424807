import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, type GetOptions, type GetTarget } from '../../src/shared/http-get.js';
import { SecurityPolicy } from '../../src/core/connectors/endpoint-policy.js';
import { hasOpenssl, selfSignedCert } from '../helpers/tls.js';

/**
 * The S3 fast path's GET client (undici on the provider's agents) against real loopback servers:
 * Node's own http server for the ordinary answers, and a raw TCP server that writes exact bytes for
 * framings Node's server would not send (smuggling shapes, cut and garbled answers, silence).
 */

const read = async (r: { body: AsyncIterable<Buffer> }) => {
  const chunks: Buffer[] = [];
  for await (const c of r.body) chunks.push(c);
  return Buffer.concat(chunks);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const OPTS: GetOptions = { connectTimeoutMs: 2000, idleTimeoutMs: 10_000 };
const opts = (o: Partial<GetOptions> = {}): GetOptions => ({ ...OPTS, ...o });

describe('S3 fast-path HTTP/1.1 GET (undici)', () => {
  let server: http.Server;
  let target: GetTarget;
  let connections = 0;
  let open = 0;
  let maxOpen = 0;
  const big = Buffer.alloc(8 * 1024 * 1024, 3);
  big.write('start');

  beforeAll(async () => {
    server = http.createServer(async (req, res) => {
      const url = req.url ?? '';
      if (url.startsWith('/slow')) await sleep(30);
      if (url === '/chunked') {
        res.writeHead(404, { 'content-type': 'application/xml' });
        res.write('<Error><Code>NoSuchKey</Code>');
        res.end('<Message>gone</Message></Error>');
        return;
      }
      if (url === '/big') {
        res.writeHead(200, { 'content-length': big.length });
        res.end(big);
        return;
      }
      if (url === '/close') {
        res.writeHead(200, { 'content-length': 2, connection: 'close' });
        res.end('ok');
        return;
      }
      res.writeHead(200, { 'content-length': Buffer.byteLength(url), 'x-multi': ['a', 'b'], etag: '"e"' });
      res.end(url);
    });
    server.on('connection', (s) => {
      connections++;
      open++;
      maxOpen = Math.max(maxOpen, open);
      s.on('close', () => open--);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    target = { protocol: 'http:', hostname: '127.0.0.1', port: (server.address() as AddressInfo).port };
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const host = () => ({ host: `127.0.0.1:${target.port}` });

  it('reads answers, keeps one socket alive across requests, and joins repeated headers', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const before = connections;
    for (let i = 0; i < 20; i++) {
      const r = await httpGet(agent, target, `/k/${i}%20x`, host(), OPTS);
      expect(r.status).toBe(200);
      expect(r.headers['x-multi']).toBe('a, b');
      expect(r.headers.etag).toBe('"e"');
      expect((await read(r)).toString()).toBe(`/k/${i}%20x`);
    }
    // undici lets a socket settle for one event-loop turn before it takes the next request, so a
    // sequence of requests may alternate between two kept-alive sockets; never one per request.
    expect(connections - before).toBeLessThanOrEqual(2);
    const single = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const again = connections;
    for (let i = 0; i < 5; i++) expect((await read(await httpGet(single, target, `/one/${i}`, host(), OPTS))).toString()).toBe(`/one/${i}`);
    expect(connections - again).toBe(1);
  });

  it('keeps to the agent maxSockets and queues the rest', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 3 });
    maxOpen = open;
    const base = open;
    const out = await Promise.all(Array.from({ length: 12 }, (_, i) => httpGet(agent, target, `/slow/${i}`, host(), OPTS).then(read)));
    expect(out.map(String)).toEqual(Array.from({ length: 12 }, (_, i) => `/slow/${i}`));
    expect(maxOpen - base).toBeLessThanOrEqual(3);
  });

  it('decodes a chunked error body, streams a large body with backpressure, and honours Connection: close', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const e = await httpGet(agent, target, '/chunked', host(), OPTS);
    expect(e.status).toBe(404);
    expect((await read(e)).toString()).toBe('<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>');
    const b = await httpGet(agent, target, '/big', host(), OPTS);
    let n = 0;
    const h = createHash('sha256');
    for await (const c of b.body as AsyncIterable<Buffer>) {
      n += c.length;
      h.update(c);
      if (n < 1024 * 1024) await sleep(1); // a slow reader: the socket is paused meanwhile
    }
    expect(n).toBe(big.length);
    expect(h.digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
    const single = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await read(await httpGet(single, target, '/before-close', host(), OPTS))).toString()).toBe('/before-close');
    const before = connections;
    expect((await read(await httpGet(single, target, '/close', host(), OPTS))).toString()).toBe('ok');
    expect((await read(await httpGet(single, target, '/after-close', host(), OPTS))).toString()).toBe('/after-close');
    expect(connections - before).toBe(1); // /close reused the kept-alive socket; its own socket was not reused after it
  });

  it('retries once on a new socket when the server closed a kept-alive one', async () => {
    const s = http.createServer((req, res) => res.end('fresh'));
    s.keepAliveTimeout = 30;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const t: GetTarget = { protocol: 'http:', hostname: '127.0.0.1', port: (s.address() as AddressInfo).port };
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      expect((await read(await httpGet(agent, t, '/a', { host: 'x' }, OPTS))).toString()).toBe('fresh');
      await sleep(120); // the server closed the idle socket
      expect((await read(await httpGet(agent, t, '/b', { host: 'x' }, OPTS))).toString()).toBe('fresh');
    } finally {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it('aborts mid-body; the next request still works', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ctl = new AbortController();
    const r = await httpGet(agent, target, '/big', host(), opts({ signal: ctl.signal }));
    const it = (r.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    await it.next();
    ctl.abort();
    await expect(it.next()).rejects.toThrow(/abort/i);
    await expect(httpGet(agent, target, '/x', host(), opts({ signal: ctl.signal }))).rejects.toThrow(/abort/i);
    expect((await read(await httpGet(agent, target, '/y', host(), OPTS))).toString()).toBe('/y');
    // A body that arrived whole but is left unread and destroyed (as the connector check does with its
    // one-byte read) is no uncaught error.
    const unread = await httpGet(agent, target, '/tiny', host(), OPTS);
    await sleep(50);
    unread.body.destroy();
    await sleep(20);
    expect((await read(await httpGet(agent, target, '/z', host(), OPTS))).toString()).toBe('/z');
  });

  it('refuses a header or path that would split the request, and takes the agent policy refusal as its error', async () => {
    const agent = new http.Agent({ keepAlive: true });
    const before = connections;
    await expect(httpGet(agent, target, '/k', { ...host(), 'if-match': '"a"\r\nx-evil: 1' }, OPTS)).rejects.toThrow(/invalid if-match header/);
    await expect(httpGet(agent, target, '/k x', host(), OPTS)).rejects.toThrow(/invalid request path/);
    expect(connections).toBe(before); // refused before any socket was opened
    const guarded = new http.Agent({ keepAlive: true });
    (guarded as unknown as { createConnection: (o: unknown, cb: (e: Error) => void) => undefined }).createConnection = (_o, cb) => {
      cb(Object.assign(new Error('endpoint refused: 127.0.0.1 is a loopback address'), { code: 'ENDPOINT_REFUSED' }));
      return undefined;
    };
    await expect(httpGet(guarded, target, '/k', host(), OPTS)).rejects.toThrow(/endpoint refused/);
  });

  it("goes through the HTTP front door's endpoint policy: a loopback address, literal or by name, is refused at connect", async () => {
    const policy = new SecurityPolicy({ envRefs: [], fileRefs: [], ambientCredentials: false, privateEndpoints: false, endpointCidrs: [], dataDir: os.tmpdir() });
    const agents = policy.agents(4);
    const before = connections;
    await expect(httpGet(agents.http, target, '/k', host(), OPTS)).rejects.toMatchObject({ kind: 'permission_denied', message: expect.stringMatching(/127\.0\.0\.1 is a loopback address, refused by the endpoint policy/) });
    await expect(httpGet(agents.http, { ...target, hostname: 'localhost' }, '/k', host(), OPTS)).rejects.toMatchObject({ kind: 'permission_denied', message: expect.stringMatching(/localhost \(.*\) is a loopback address, refused by the endpoint policy/) });
    expect(connections).toBe(before); // nothing reached the server
  });

  it('an abort while the request waits for a free connection rejects at once, and the request is never sent', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    let arrived!: () => void;
    const holding = new Promise<void>((r) => (arrived = r));
    const s = http.createServer(async (req, res) => {
      seen.push(req.url ?? '');
      if (req.url === '/hold') {
        arrived();
        await held;
      }
      res.end(req.url);
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const t: GetTarget = { protocol: 'http:', hostname: '127.0.0.1', port: (s.address() as AddressInfo).port };
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const first = httpGet(agent, t, '/hold', { host: 'x' }, OPTS);
      await holding; // the only connection is busy
      const ctl = new AbortController();
      const queued = httpGet(agent, t, '/queued', { host: 'x' }, opts({ signal: ctl.signal }));
      ctl.abort();
      // Rejects while the connection is still held: no free slot is needed to notice the abort.
      await expect(queued).rejects.toThrow(/abort/i);
      release();
      expect((await read(await first)).toString()).toBe('/hold');
      expect((await read(await httpGet(agent, t, '/after', { host: 'x' }, OPTS))).toString()).toBe('/after');
      expect(seen).toEqual(['/hold', '/after']);
    } finally {
      release();
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  describe('exact framings (raw TCP server)', () => {
    let raw: net.Server;
    const rawSockets = new Set<net.Socket>();
    let rawConnections = 0;
    let t: GetTarget;
    const served = new Map<string, number>();
    const answers = new Map<string, (s: net.Socket) => void>();
    beforeAll(async () => {
      raw = net.createServer((s) => {
        rawSockets.add(s);
        rawConnections++;
        let buf = '';
        let onThis = 0;
        s.on('data', (d) => {
          buf += d.toString('latin1');
          for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
            const path = buf.slice(4, buf.indexOf(' ', 4));
            buf = buf.slice(end + 4);
            onThis++;
            served.set(path, (served.get(path) ?? 0) + 1);
            if (path === '/once-per-socket') {
              // Like a server that closed its side of a kept-alive socket: the second request on it gets no answer.
              if (onThis === 1) s.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nonce');
              else s.destroy();
              continue;
            }
            answers.get(path)?.(s);
          }
        });
        s.on('error', () => undefined);
      });
      await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
      t = { protocol: 'http:', hostname: '127.0.0.1', port: (raw.address() as AddressInfo).port };
      answers.set('/ok', (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
      answers.set('/interim', (s) => s.write('HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello'));
      answers.set('/unasked-continue', (s) => s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello'));
      answers.set('/ext', (s) => s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;name=v\r\nabc\r\n2\r\nde\r\n0\r\nx-trailer: 1\r\n\r\n'));
      answers.set('/cut', (s) => {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part');
        setTimeout(() => s.destroy(), 20);
      });
      answers.set('/extra', (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokGARBAGE'));
      answers.set('/junk', (s) => s.end('SSH-2.0-OpenSSH\r\n\r\n'));
      answers.set('/huge-head', (s) => s.write(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(70 * 1024)}`));
      answers.set('/eof', (s) => s.end('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end'));
      answers.set('/bad-chunk', (s) => s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n'));
      answers.set('/silent', (s) => s.destroy());
      answers.set('/no-head', () => undefined);
      answers.set('/stall-body', (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
      answers.set('/split', (s) => {
        // The head and body in pieces, the head's end across two writes.
        s.write('HTTP/1.1 200 OK\r\ncontent-len');
        setTimeout(() => s.write('gth: 3\r\n\r'), 5);
        setTimeout(() => s.write('\nab'), 10);
        setTimeout(() => s.write('c'), 15);
      });
      // Request smuggling / response splitting shapes (RFC 9112 §6.1, §5.1): each must be an error.
      answers.set('/cl-te', (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'));
      answers.set('/cl-te-space', (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding : chunked\r\n\r\nabc'));
      answers.set('/te-cl', (s) => s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n'));
      answers.set('/space-colon', (s) => s.write('HTTP/1.1 200 OK\r\nx-amz-meta-a : b\r\ncontent-length: 2\r\n\r\nok'));
    });
    afterAll(async () => {
      for (const s of rawSockets) s.destroy();
      await new Promise((r) => raw.close(r));
    });
    const get = (agent: http.Agent, p: string, o: Partial<GetOptions> = {}) => httpGet(agent, t, p, { host: 'raw' }, opts(o));
    /** The error of a GET, whether it comes with the head or while the body is read. */
    const failure = async (agent: http.Agent, p: string, o: Partial<GetOptions> = {}) => {
      try {
        const r = await get(agent, p, o);
        const body = await read(r);
        return new Error(`answered ${r.status} ${JSON.stringify(body.toString())}`);
      } catch (e) {
        return e as Error;
      }
    };

    it('skips interim answers, decodes chunk extensions and trailers, and reads to the end without a length', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      expect((await read(await get(agent, '/interim'))).toString()).toBe('hello');
      expect((await read(await get(agent, '/ext'))).toString()).toBe('abcde');
      expect((await read(await get(agent, '/split'))).toString()).toBe('abc');
      expect((await read(await get(agent, '/eof'))).toString()).toBe('until the end');
      // A 100 Continue that was never asked for (no Expect header is sent) is a protocol error.
      expect((await failure(agent, '/unasked-continue')).message).toMatch(/not valid HTTP\/1\.1/);
    });

    it('sends a request again on a new socket when a reused one closes without an answer (once)', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      served.clear();
      expect((await read(await get(agent, '/once-per-socket'))).toString()).toBe('once');
      expect((await read(await get(agent, '/once-per-socket'))).toString()).toBe('once');
      expect(served.get('/once-per-socket')).toBe(3); // the first, the one the reused socket swallowed, and its retry
      // A new socket that closes without an answer is not tried again.
      await expect(get(new http.Agent({ keepAlive: true, maxSockets: 1 }), '/silent')).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
      expect(served.get('/silent')).toBe(1);
    });

    it('fails a cut body, a garbled answer, an oversized head and a bad chunk; drops a socket with bytes past the body', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const cut = await get(agent, '/cut');
      await expect(read(cut)).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
      await expect(get(agent, '/junk')).rejects.toThrow(/not valid HTTP\/1\.1 .*Expected HTTP/);
      await expect(get(agent, '/huge-head')).rejects.toThrow(/not valid HTTP\/1\.1 .*[Hh]eaders? [Oo]verflow/);
      expect((await failure(agent, '/bad-chunk')).message).toMatch(/chunk size/i);
      expect((await read(await get(agent, '/extra'))).toString()).toBe('ok');
      expect((await read(await get(agent, '/interim'))).toString()).toBe('hello'); // on a new socket: the garbage was not read as an answer
    });

    it('refuses Content-Length with Transfer-Encoding (either order, with or without whitespace before the colon) and closes the socket', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      expect((await read(await get(agent, '/ok'))).toString()).toBe('ok');
      for (const p of ['/cl-te', '/cl-te-space', '/te-cl']) {
        const before = rawConnections;
        const closed = new Promise<void>((r) => [...rawSockets].at(-1)!.once('close', () => r()));
        const e = await failure(agent, p);
        expect(e).toMatchObject({ kind: 'unexpected', temporary: true });
        expect(e.message).toMatch(/not valid HTTP\/1\.1/);
        await closed; // the client closed the socket that carried the ambiguous answer
        expect((await read(await get(agent, '/ok'))).toString()).toBe('ok');
        expect(rawConnections - before).toBe(1); // ...and the next request came on a new one
      }
    });

    it('refuses whitespace between a header name and its colon', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const e = await failure(agent, '/space-colon');
      expect(e).toMatchObject({ kind: 'unexpected' });
      expect(e.message).toMatch(/not valid HTTP\/1\.1 .*header token/i);
    });

    it('fails a server that never sends a response head after the head timeout, and a stalled body after the body timeout', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      await expect(get(agent, '/no-head', { idleTimeoutMs: 300 })).rejects.toMatchObject({ kind: 'unexpected', temporary: true, message: expect.stringMatching(/no response head within 300 ms/) });
      const r = await get(agent, '/stall-body', { idleTimeoutMs: 300 });
      await expect(read(r)).rejects.toMatchObject({ code: 'UND_ERR_BODY_TIMEOUT' });
    });

    it('a head timeout and an abort also end a wait that began before them', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const ctl = new AbortController();
      const p = get(agent, '/no-head', { signal: ctl.signal });
      await sleep(50);
      ctl.abort();
      await expect(p).rejects.toThrow(/abort/i);
    });
  });

  it.skipIf(!hasOpenssl)('speaks TLS through the agent: its CA and lookup apply, the name is checked (SNI), a wrong CA is refused', async () => {
    const { key, cert } = selfSignedCert('bucket.test');
    let sni = '';
    const s = https.createServer({ key, cert }, (req, res) => {
      sni = (req.socket as unknown as { servername?: string }).servername ?? '';
      res.end(`tls ${req.url}`);
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    // bucket.test resolves to loopback through the agent's own lookup (as the endpoint policy's does).
    const toLoopback: net.LookupFunction = (_h, o, cb) => ((o as { all?: boolean }).all ? (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4));
    const t: GetTarget = { protocol: 'https:', hostname: 'bucket.test', port };
    try {
      const agent = new https.Agent({ keepAlive: true, ca: cert, lookup: toLoopback });
      for (const p of ['/a', '/b']) expect((await read(await httpGet(agent, t, p, { host: `bucket.test:${port}` }, OPTS))).toString()).toBe(`tls ${p}`);
      expect(sni).toBe('bucket.test');
      const untrusting = new https.Agent({ keepAlive: true, lookup: toLoopback });
      await expect(httpGet(untrusting, t, '/c', { host: 'x' }, OPTS)).rejects.toThrow(/self[- ]signed|certificate/i);
      // rejectUnauthorized: false on the agent is honoured too (an operator's choice for a private endpoint).
      const lax = new https.Agent({ keepAlive: true, rejectUnauthorized: false, lookup: toLoopback });
      expect((await read(await httpGet(lax, t, '/d', { host: 'x' }, OPTS))).toString()).toBe('tls /d');
    } finally {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });
});
