import type http from 'node:http';
import type net from 'node:net';
import { Readable } from 'node:stream';

/**
 * A lean HTTP/1.1 GET client for object downloads: keep-alive sockets taken from the caller's
 * agent (its `createConnection`, so the agent's endpoint policy and TLS options apply to every
 * socket), one request at a time per socket, and a small response parser. Per 64 KiB GET on loopback
 * it costs about half the CPU of Node's http client (ClientRequest, IncomingMessage and their streams):
 * `bench/http-client.mjs` measures both.
 *
 * What it covers: GET with headers the caller built; responses framed by Content-Length, chunked
 * transfer coding, or the connection's end; 1xx answers skipped; `Connection: close` honoured. A
 * reused socket that the server closed meanwhile is retried once on a new one (a GET is idempotent).
 */

export interface LeanResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Readable;
}

export interface LeanTarget {
  protocol: 'http:' | 'https:';
  /** Without IPv6 brackets. */
  hostname: string;
  port: number;
}

/** Bytes of a response head (status line and headers) above which the answer is refused. */
const MAX_HEAD = 64 * 1024;
/** An idle keep-alive socket is closed after this long (servers close theirs after 5–20 s). */
const IDLE_MS = 4000;

type Create = (options: Record<string, unknown>, cb?: (err: Error | null, socket?: net.Socket) => void) => net.Socket | undefined;

const netError = (message: string, code: string) => Object.assign(new Error(message), { code });

/** An idle socket that times out, or that the server sends bytes on (no request is out), is closed. */
function closeIdle(this: net.Socket): void {
  this.destroy();
}

/** Sockets of one agent to one host:port. */
class Pool {
  private readonly idle: net.Socket[] = [];
  private open = 0;
  private readonly waiting: { resolve: (s: { socket: net.Socket; reused: boolean }) => void; reject: (e: Error) => void }[] = [];

  constructor(
    private readonly agent: http.Agent,
    private readonly target: LeanTarget,
    private readonly connectTimeoutMs: number,
  ) {}

  private get max(): number {
    const m = this.agent.maxSockets;
    return Number.isFinite(m) && m > 0 ? m : 256;
  }

  acquire(): Promise<{ socket: net.Socket; reused: boolean }> {
    for (let s = this.idle.pop(); s; s = this.idle.pop()) {
      if (s.destroyed || !s.writable) continue;
      s.setTimeout(0);
      s.off('timeout', closeIdle);
      s.off('data', closeIdle);
      s.ref();
      return Promise.resolve({ socket: s, reused: true });
    }
    if (this.open < this.max) return this.connect().then((socket) => ({ socket, reused: false }));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** A socket whose response was read to its end and that may carry the next request. */
  release(s: net.Socket): void {
    const w = this.waiting.shift();
    if (w) return w.resolve({ socket: s, reused: true });
    this.idle.push(s);
    s.unref(); // as Node's agent does: an idle socket does not keep the process alive
    s.on('data', closeIdle); // reading on, so a close by the server is noticed at once
    s.resume(); // (a body's backpressure may have left it paused)
    s.setTimeout(IDLE_MS);
    s.once('timeout', closeIdle);
  }

  /** A socket that cannot be reused (an error, a cut body, `Connection: close`): destroyed, and its place given to a waiter. */
  discard(s: net.Socket): void {
    s.destroy();
  }

  private connect(): Promise<net.Socket> {
    this.open++;
    return new Promise<net.Socket>((resolve, reject) => {
      const { protocol, hostname, port } = this.target;
      const options: Record<string, unknown> = {
        ...(this.agent as unknown as { options?: Record<string, unknown> }).options,
        host: hostname,
        port,
        ...(protocol === 'https:' && !isIp(hostname) ? { servername: hostname } : {}),
      };
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const done = (err: Error | null, s?: net.Socket) => {
        if (settled) return;
        settled = true;
        if (err || !s) {
          this.closed();
          return reject(err ?? new Error('no socket'));
        }
        s.setNoDelay(true);
        s.setKeepAlive(true, 1000);
        s.on('error', () => undefined); // an idle socket's error is its close; a request's error is handled by its exchange
        s.once('close', () => {
          const i = this.idle.indexOf(s);
          if (i >= 0) this.idle.splice(i, 1);
          this.closed();
        });
        if (s.connecting) {
          timer = setTimeout(() => s.destroy(netError(`connect timeout after ${this.connectTimeoutMs} ms`, 'ETIMEDOUT')), this.connectTimeoutMs);
          s.once('connect', () => clearTimeout(timer));
          s.once('close', () => clearTimeout(timer));
        }
        resolve(s);
      };
      try {
        const s = (this.agent as unknown as { createConnection: Create }).createConnection(options, done);
        if (s) done(null, s);
      } catch (e) {
        done(e as Error);
      }
    });
  }

  /** A socket is gone: a waiter gets a new one. */
  private closed(): void {
    this.open--;
    const w = this.waiting.shift();
    if (!w) return;
    this.open < this.max
      ? this.connect().then(
          (socket) => w.resolve({ socket, reused: false }),
          (e: Error) => w.reject(e),
        )
      : this.waiting.unshift(w);
  }
}

const isIp = (h: string) => /^[\d.]+$/.test(h) || h.includes(':');

const pools = new WeakMap<http.Agent, Map<string, Pool>>();

function poolFor(agent: http.Agent, t: LeanTarget, connectTimeoutMs: number): Pool {
  let byHost = pools.get(agent);
  if (!byHost) pools.set(agent, (byHost = new Map()));
  const key = `${t.protocol}//${t.hostname}:${t.port}`;
  let p = byHost.get(key);
  if (!p) byHost.set(key, (p = new Pool(agent, t, connectTimeoutMs)));
  return p;
}

const BAD_VALUE = /[\r\n\0]/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PATH = /^\/[\x21-\x7e]*$/;

/** The request's bytes; a path or header that could split the request is refused (as Node's http refuses it). */
function requestHead(path: string, headers: Record<string, string>): string {
  if (!PATH.test(path)) throw new TypeError('invalid request path');
  let head = `GET ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    if (!TOKEN.test(k) || BAD_VALUE.test(v)) throw Object.assign(new TypeError(`invalid character in header ${JSON.stringify(k)}`), { code: 'ERR_INVALID_CHAR' });
    head += `${k}: ${v}\r\n`;
  }
  return `${head}\r\n`;
}

/** GETs `path` with `headers` (Host included by the caller). Resolves once the response head is in; the body streams. */
export async function leanGet(agent: http.Agent, target: LeanTarget, path: string, headers: Record<string, string>, opts: { connectTimeoutMs: number; signal?: AbortSignal }): Promise<LeanResponse> {
  const head = requestHead(path, headers);
  const pool = poolFor(agent, target, opts.connectTimeoutMs);
  for (let attempt = 0; ; attempt++) {
    opts.signal?.throwIfAborted();
    const { socket, reused } = await pool.acquire();
    if (opts.signal?.aborted) {
      pool.release(socket); // aborted while waiting for a socket: the socket is unused, keep it
      opts.signal.throwIfAborted();
    }
    try {
      return await exchange(pool, socket, head, opts.signal);
    } catch (e) {
      // A kept-alive socket the server closed just before this request: once more on a new one.
      if (reused && attempt === 0 && (e as { stale?: boolean }).stale && !opts.signal?.aborted) continue;
      throw e;
    }
  }
}

/** One request on one socket: resolves with the head, then feeds the body until the response ends. */
function exchange(pool: Pool, socket: net.Socket, head: string, signal?: AbortSignal): Promise<LeanResponse> {
  return new Promise<LeanResponse>((resolve, reject) => {
    let headBuf: Buffer | null = null;
    let body: Readable | null = null;
    let gotBytes = false;
    /** Body framing once the head is parsed: bytes left (fixed), or chunked, or to the end of the connection. */
    let mode: 'fixed' | 'chunked' | 'eof' = 'fixed';
    let left = 0;
    let keep = true;
    let finished = false;
    // chunked decoding state
    let chunkLeft = 0;
    let chunkState: 'size' | 'data' | 'crlf' | 'trailer' = 'size';
    let line = '';

    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (e: Error) => {
      if (finished) return;
      finished = true;
      cleanup();
      pool.discard(socket);
      if (body) body.destroy(e);
      else reject(e);
    };
    const complete = (rest: Buffer | null) => {
      if (finished) return;
      finished = true;
      cleanup();
      body!.push(null);
      if (keep && (!rest || rest.length === 0) && mode !== 'eof') pool.release(socket);
      else pool.discard(socket);
    };
    const onAbort = () => fail(Object.assign(new Error('This operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' }));
    const onError = (e: Error) => fail(Object.assign(e, { stale: !gotBytes }));
    const onEnd = () => {
      if (body && mode === 'eof') return complete(null);
      fail(Object.assign(netError(body ? 'the connection closed before the body ended' : 'socket hang up', 'ECONNRESET'), { stale: !gotBytes }));
    };
    const onClose = () => onEnd();

    const feedBody = (d: Buffer): void => {
      if (mode === 'eof') {
        if (d.length) pushBody(d);
        return;
      }
      if (mode === 'fixed') {
        if (d.length <= left) {
          left -= d.length;
          if (d.length) pushBody(d);
          if (left === 0) complete(null);
          return;
        }
        const part = d.subarray(0, left);
        left = 0;
        if (part.length) pushBody(part);
        return complete(d.subarray(part.length)); // bytes past the body: the socket is not reused
      }
      // chunked
      let i = 0;
      while (i < d.length && !finished) {
        if (chunkState === 'data') {
          const n = Math.min(chunkLeft, d.length - i);
          pushBody(d.subarray(i, i + n));
          i += n;
          chunkLeft -= n;
          if (chunkLeft === 0) chunkState = 'crlf';
          continue;
        }
        const nl = d.indexOf(0x0a, i);
        const end = nl < 0 ? d.length : nl;
        line += d.toString('latin1', i, end);
        if (line.length > 8192) return fail(netError('chunked body: a line too long', 'HPE_INVALID_CHUNK_SIZE'));
        if (nl < 0) return;
        i = nl + 1;
        const l = line.replace(/\r$/, '');
        line = '';
        if (chunkState === 'crlf') {
          if (l !== '') return fail(netError('chunked body: a chunk not ended by CRLF', 'HPE_INVALID_CHUNK_SIZE'));
          chunkState = 'size';
        } else if (chunkState === 'size') {
          const m = /^([0-9a-fA-F]{1,12})(;.*)?$/.exec(l);
          if (!m) return fail(netError('chunked body: an invalid chunk size', 'HPE_INVALID_CHUNK_SIZE'));
          chunkLeft = parseInt(m[1]!, 16);
          chunkState = chunkLeft === 0 ? 'trailer' : 'data';
        } else if (l === '') {
          return complete(i < d.length ? d.subarray(i) : null); // the last chunk and its trailers are in
        }
      }
    };
    const pushBody = (d: Buffer) => {
      if (!body!.push(d)) socket.pause();
    };

    const onHead = (raw: string, rest: Buffer): boolean => {
      const lines = raw.split('\r\n');
      const m = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0] ?? '');
      if (!m) {
        fail(netError('not an HTTP/1.x response', 'HPE_INVALID_CONSTANT'));
        return false;
      }
      const status = Number(m[2]);
      if (status >= 100 && status < 200) return true; // 100 Continue, 103 Early Hints: the real answer follows
      const headers: Record<string, string> = {};
      for (let i = 1; i < lines.length; i++) {
        const l = lines[i]!;
        const c = l.indexOf(':');
        if (c <= 0) {
          fail(netError('an invalid response header line', 'HPE_INVALID_HEADER_TOKEN'));
          return false;
        }
        const k = l.slice(0, c).trim().toLowerCase();
        const v = l.slice(c + 1).trim();
        headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
      }
      const conn = (headers.connection ?? '').toLowerCase();
      keep = m[1] === '1' ? !conn.includes('close') : conn.includes('keep-alive');
      const te = (headers['transfer-encoding'] ?? '').toLowerCase();
      if (status === 204 || status === 304) {
        mode = 'fixed';
        left = 0;
      } else if (te) {
        if (!/(^|,)\s*chunked\s*$/.test(te)) {
          fail(netError(`unsupported transfer-encoding ${te}`, 'HPE_INVALID_TRANSFER_ENCODING'));
          return false;
        }
        mode = 'chunked';
      } else if (headers['content-length'] !== undefined) {
        if (!/^\d{1,15}$/.test(headers['content-length'])) {
          fail(netError('an invalid content-length', 'HPE_INVALID_CONTENT_LENGTH'));
          return false;
        }
        mode = 'fixed';
        left = Number(headers['content-length']);
      } else mode = 'eof';
      body = new Readable({
        read: () => socket.resume(),
        destroy: (err, cb) => {
          // A body left before its end: the socket is mid-response and cannot be reused.
          if (!finished) {
            finished = true;
            cleanup();
            pool.discard(socket);
          }
          cb(err);
        },
      });
      // The body can fail before its reader has attached (a bad chunk in the first bytes, a cut while
      // the reader opens its temp file): the error stays on the stream for the reader (a `for await`
      // over it throws it) instead of being an uncaught 'error' event.
      body.on('error', () => undefined);
      resolve({ status, headers, body });
      if (mode === 'fixed' && left === 0) complete(rest.length ? rest : null);
      else if (rest.length) feedBody(rest);
      return false;
    };

    const onData = (d: Buffer) => {
      gotBytes = true;
      if (body) return feedBody(d);
      let buf: Buffer = headBuf ? Buffer.concat([headBuf, d]) : d;
      headBuf = null;
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > MAX_HEAD) fail(netError('response head over 64 KiB', 'HPE_HEADER_OVERFLOW'));
          else headBuf = buf; // the head's end has not arrived yet
          return;
        }
        const raw = buf.toString('latin1', 0, end);
        // The body's first bytes, copied out of the socket's read buffer: as a view they would keep the
        // whole buffer (64 KiB) alive while the download holds them, long enough for V8 to promote the
        // view to its old generation, whose garbage waits for a full GC. On a small-file import that
        // doubled peak RSS in about half the runs (200 MB instead of 150); a copy of its own moves to a
        // hash worker as it is.
        const rest: Buffer = Buffer.from(buf.subarray(end + 4));
        buf = rest;
        if (!onHead(raw, rest)) return; // a final answer (or a failure); an interim one loops for the next head
      }
    };

    if (signal?.aborted) return fail(Object.assign(new Error('This operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' }));
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onClose);
    socket.on('error', onError);
    socket.resume();
    socket.write(head);
  });
}
