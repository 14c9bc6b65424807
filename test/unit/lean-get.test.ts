import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leanGet, type LeanTarget } from '../../src/shared/lean-get.js';
import { SecurityPolicy } from '../../src/core/policy.js';
import { hasOpenssl, selfSignedCert } from '../helpers/tls.js';

/**
 * The lean GET client against real loopback servers: Node's own http server for the ordinary
 * answers, and a raw TCP server that writes exact bytes for framings Node's server would not send.
 */

const read = async (r: { body: AsyncIterable<Buffer> }) => {
  const chunks: Buffer[] = [];
  for await (const c of r.body) chunks.push(c);
  return Buffer.concat(chunks);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('lean HTTP/1.1 GET', () => {
  let server: http.Server;
  let target: LeanTarget;
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
      const r = await leanGet(agent, target, `/k/${i}%20x`, host(), { connectTimeoutMs: 2000 });
      expect(r.status).toBe(200);
      expect(r.headers['x-multi']).toBe('a, b');
      expect(r.headers.etag).toBe('"e"');
      expect((await read(r)).toString()).toBe(`/k/${i}%20x`);
    }
    expect(connections - before).toBe(1);
  });

  it('keeps to the agent maxSockets and queues the rest', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 3 });
    maxOpen = open;
    const base = open;
    const out = await Promise.all(Array.from({ length: 12 }, (_, i) => leanGet(agent, target, `/slow/${i}`, host(), { connectTimeoutMs: 2000 }).then(read)));
    expect(out.map(String)).toEqual(Array.from({ length: 12 }, (_, i) => `/slow/${i}`));
    expect(maxOpen - base).toBeLessThanOrEqual(3);
  });

  it('decodes a chunked error body, streams a large body with backpressure, and honours Connection: close', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const e = await leanGet(agent, target, '/chunked', host(), { connectTimeoutMs: 2000 });
    expect(e.status).toBe(404);
    expect((await read(e)).toString()).toBe('<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>');
    const b = await leanGet(agent, target, '/big', host(), { connectTimeoutMs: 2000 });
    let n = 0;
    const h = createHash('sha256');
    for await (const c of b.body as AsyncIterable<Buffer>) {
      n += c.length;
      h.update(c);
      if (n < 1024 * 1024) await sleep(1); // a slow reader: the socket is paused meanwhile
    }
    expect(n).toBe(big.length);
    expect(h.digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
    const before = connections;
    expect((await read(await leanGet(agent, target, '/close', host(), { connectTimeoutMs: 2000 }))).toString()).toBe('ok');
    expect((await read(await leanGet(agent, target, '/after-close', host(), { connectTimeoutMs: 2000 }))).toString()).toBe('/after-close');
    expect(connections - before).toBe(1); // /close's socket was not reused; /after-close reused the one before (or a new one)
  });

  it('retries once on a new socket when the server closed a kept-alive one', async () => {
    const s = http.createServer((req, res) => res.end('fresh'));
    s.keepAliveTimeout = 30;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const t: LeanTarget = { protocol: 'http:', hostname: '127.0.0.1', port: (s.address() as AddressInfo).port };
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      expect((await read(await leanGet(agent, t, '/a', { host: 'x' }, { connectTimeoutMs: 2000 }))).toString()).toBe('fresh');
      await sleep(120); // the server closed the idle socket
      expect((await read(await leanGet(agent, t, '/b', { host: 'x' }, { connectTimeoutMs: 2000 }))).toString()).toBe('fresh');
    } finally {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it('aborts mid-body; the next request still works', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ctl = new AbortController();
    const r = await leanGet(agent, target, '/big', host(), { connectTimeoutMs: 2000, signal: ctl.signal });
    const it = (r.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    await it.next();
    r.body.destroy(new Error('aborted by the reader'));
    ctl.abort();
    await expect(leanGet(agent, target, '/x', host(), { connectTimeoutMs: 2000, signal: ctl.signal })).rejects.toThrow(/abort/i);
    expect((await read(await leanGet(agent, target, '/y', host(), { connectTimeoutMs: 2000 }))).toString()).toBe('/y');
  });

  it('refuses a header or path that would split the request, and takes the agent policy refusal as its error', async () => {
    const agent = new http.Agent({ keepAlive: true });
    await expect(leanGet(agent, target, '/k', { ...host(), 'if-match': '"a"\r\nx-evil: 1' }, { connectTimeoutMs: 2000 })).rejects.toThrow(/invalid character/);
    await expect(leanGet(agent, target, '/k x', host(), { connectTimeoutMs: 2000 })).rejects.toThrow(/invalid request path/);
    const guarded = new http.Agent({ keepAlive: true });
    (guarded as unknown as { createConnection: (o: unknown, cb: (e: Error) => void) => undefined }).createConnection = (_o, cb) => {
      cb(Object.assign(new Error('endpoint refused: 127.0.0.1 is a loopback address'), { code: 'ENDPOINT_REFUSED' }));
      return undefined;
    };
    await expect(leanGet(guarded, target, '/k', host(), { connectTimeoutMs: 2000 })).rejects.toThrow(/endpoint refused/);
  });

  it("goes through the HTTP front door's endpoint policy: a loopback address, literal or by name, is refused at connect", async () => {
    const policy = new SecurityPolicy({ envRefs: [], fileRefs: [], ambientCredentials: false, privateEndpoints: false, endpointCidrs: [], dataDir: os.tmpdir() });
    const agents = policy.agents(4);
    const before = connections;
    await expect(leanGet(agents.http, target, '/k', host(), { connectTimeoutMs: 2000 })).rejects.toThrow(/loopback|private|not allowed|refused/i);
    await expect(leanGet(agents.http, { ...target, hostname: 'localhost' }, '/k', host(), { connectTimeoutMs: 2000 })).rejects.toThrow(/loopback|private|not allowed|refused/i);
    expect(connections).toBe(before); // nothing reached the server
  });

  describe('exact framings (raw TCP server)', () => {
    let raw: net.Server;
    const rawSockets = new Set<net.Socket>();
    let t: LeanTarget;
    const answers = new Map<string, (s: net.Socket) => void>();
    beforeAll(async () => {
      raw = net.createServer((s) => {
        rawSockets.add(s);
        let buf = '';
        let served = 0;
        s.on('data', (d) => {
          buf += d.toString('latin1');
          for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
            const path = buf.slice(4, buf.indexOf(' ', 4));
            buf = buf.slice(end + 4);
            served++;
            if (path === '/once-per-socket') {
              // Like a server that closed its side of a kept-alive socket: the second request on it gets no answer.
              if (served === 1) s.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nonce');
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
      answers.set('/interim', (s) => s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello'));
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
      answers.set('/split', (s) => {
        // The head and body in pieces, the head's end across two writes.
        s.write('HTTP/1.1 200 OK\r\ncontent-len');
        setTimeout(() => s.write('gth: 3\r\n\r'), 5);
        setTimeout(() => s.write('\nab'), 10);
        setTimeout(() => s.write('c'), 15);
      });
    });
    afterAll(async () => {
      for (const s of rawSockets) s.destroy();
      await new Promise((r) => raw.close(r));
    });
    const get = (agent: http.Agent, p: string) => leanGet(agent, t, p, { host: 'raw' }, { connectTimeoutMs: 2000 });

    it('skips interim answers, decodes chunk extensions and trailers, and reads to the end without a length', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      expect((await read(await get(agent, '/interim'))).toString()).toBe('hello');
      expect((await read(await get(agent, '/ext'))).toString()).toBe('abcde');
      expect((await read(await get(agent, '/split'))).toString()).toBe('abc');
      expect((await read(await get(agent, '/eof'))).toString()).toBe('until the end');
    });

    it('sends a request again on a new socket when a reused one closes without an answer (once)', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      expect((await read(await get(agent, '/once-per-socket'))).toString()).toBe('once');
      expect((await read(await get(agent, '/once-per-socket'))).toString()).toBe('once');
      // A new socket that closes without an answer is not tried again.
      await expect(get(agent, '/silent')).rejects.toThrow(/socket hang up/);
    });

    it('fails a cut body, a garbled answer, an oversized head and a bad chunk; drops a socket with bytes past the body', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const cut = await get(agent, '/cut');
      await expect(read(cut)).rejects.toThrow(/closed before the body ended/);
      await expect(get(agent, '/junk')).rejects.toThrow(/not an HTTP/);
      await expect(get(agent, '/huge-head')).rejects.toThrow(/over 64 KiB/);
      await expect(read(await get(agent, '/bad-chunk'))).rejects.toThrow(/chunk size/);
      await expect(get(agent, '/silent')).rejects.toThrow(/socket hang up/);
      expect((await read(await get(agent, '/extra'))).toString()).toBe('ok');
      expect((await read(await get(agent, '/interim'))).toString()).toBe('hello'); // on a new socket: the garbage was not read as an answer
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
    const t: LeanTarget = { protocol: 'https:', hostname: 'bucket.test', port };
    try {
      const agent = new https.Agent({ keepAlive: true, ca: cert, lookup: toLoopback });
      for (const p of ['/a', '/b']) expect((await read(await leanGet(agent, t, p, { host: `bucket.test:${port}` }, { connectTimeoutMs: 2000 }))).toString()).toBe(`tls ${p}`);
      expect(sni).toBe('bucket.test');
      const untrusting = new https.Agent({ keepAlive: true, lookup: toLoopback });
      await expect(leanGet(untrusting, t, '/c', { host: 'x' }, { connectTimeoutMs: 2000 })).rejects.toThrow(/self[- ]signed|certificate/i);
    } finally {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });
});
