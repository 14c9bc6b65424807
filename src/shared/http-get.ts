import type http from 'node:http';
import net from 'node:net';
import type { Readable } from 'node:stream';
import type tls from 'node:tls';
import type { Dispatcher, Pool } from 'undici';
// Pool and request() from their own modules: undici's main module also loads fetch, WebSocket, caches
// and mocks (about 3.5 MB more heap in a process, part of the large-file import's peak RSS), and
// attaches request() to every dispatcher's prototype, which this calls directly instead.
import PoolClass from 'undici/lib/dispatcher/pool.js';
import request from 'undici/lib/api/api-request.js';
import { CloudportError } from './errors.js';

/**
 * GET requests for the S3 fast path, on undici: its llhttp parser is as strict as Node's own (a
 * response with both Content-Length and Transfer-Encoding, whitespace before a header's colon, a bad
 * chunk or an oversized head is an error and its socket is closed, never reused), it has a response
 * head timeout and a body timeout, and it costs less CPU per request than Node's http client.
 *
 * The sockets still come from the caller's agent (`agent.createConnection` with the agent's options),
 * so the HTTP front door's endpoint policy (the literal-address check of its guarded agents and the
 * `lookup` that checks every resolved address at connect time) and the agent's TLS options (CA,
 * rejectUnauthorized, ...) apply to every connection, exactly as they do for the SDK's requests.
 */

export interface GetResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Readable;
}

export interface GetTarget {
  protocol: 'http:' | 'https:';
  /** Without IPv6 brackets. */
  hostname: string;
  port: number;
}

export interface GetOptions {
  connectTimeoutMs: number;
  /** No response head, or no body bytes, for this long fails the request (the import's idle timeout). */
  idleTimeoutMs: number;
  signal?: AbortSignal;
}

/** An idle keep-alive socket is closed after this long unless the server announces a shorter Keep-Alive timeout. */
const KEEP_ALIVE_MS = 4000;
/** Connections per origin when the agent sets no finite maxSockets (Node's default is Infinity). */
const DEFAULT_CONNECTIONS = 64;

type Create = (options: Record<string, unknown>, cb?: (err?: Error | null, socket?: net.Socket) => void) => net.Socket | undefined;

/** Bytes a socket had read when it failed: a socket that had carried an earlier answer may be a stale keep-alive one. */
const readBefore = new WeakMap<object, number>();

/**
 * undici's `connect` hook built on the agent: the agent's `createConnection` (with the policy's guard,
 * when the agent is a guarded one) and the agent's options (its `lookup`, CA and TLS settings). The
 * socket is handed to undici once connected (for TLS: once the handshake and certificate check pass).
 */
function connector(agent: http.Agent, connectTimeoutMs: number) {
  const create = (agent as unknown as { createConnection: Create }).createConnection.bind(agent);
  const agentOptions = (agent as unknown as { options?: Record<string, unknown> }).options ?? {};
  return (o: { hostname: string; protocol: string; port: string; servername?: string }, callback: (...args: [null, net.Socket | tls.TLSSocket] | [Error, null]) => void): void => {
    const secure = o.protocol === 'https:';
    const hostname = o.hostname.replace(/^\[|\]$/g, '');
    const servername = (agentOptions.servername as string | undefined) ?? o.servername ?? (net.isIP(hostname) ? undefined : hostname);
    const options: Record<string, unknown> = {
      ...agentOptions,
      host: hostname,
      port: Number(o.port) || (secure ? 443 : 80),
      ...(secure ? { servername, ALPNProtocols: ['http/1.1'] } : {}),
    };
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let socket: net.Socket | undefined;
    const done = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err || !socket) {
        socket?.destroy();
        callback(err ?? new Error('no socket'), null);
      } else callback(null, socket);
    };
    const attach = (s: net.Socket) => {
      if (socket) return;
      socket = s;
      s.setNoDelay(true);
      s.on('error', (e: Error) => {
        readBefore.set(e, s.bytesRead);
        done(e);
      });
      s.once(secure ? 'secureConnect' : 'connect', () => done(null));
      timer = setTimeout(() => s.destroy(Object.assign(new Error(`connect timeout after ${connectTimeoutMs} ms`), { code: 'ETIMEDOUT' })), connectTimeoutMs);
    };
    try {
      // net.createConnection calls the callback with no arguments once connected; a guarded or custom
      // agent calls it with an error (the policy's refusal) or with the socket it made.
      const s = create(options, (err, s2) => {
        if (err) done(err);
        else if (s2) attach(s2);
      });
      if (s) attach(s);
    } catch (e) {
      done(e as Error);
    }
  };
}

const pools = new WeakMap<http.Agent, Map<string, Pool>>();

/** One pool per agent, origin and timeouts: keep-alive sockets are shared by every request to that origin. */
function poolFor(agent: http.Agent, t: GetTarget, opts: GetOptions): Pool {
  let byOrigin = pools.get(agent);
  if (!byOrigin) pools.set(agent, (byOrigin = new Map()));
  const host = t.hostname.includes(':') ? `[${t.hostname}]` : t.hostname;
  const origin = `${t.protocol}//${host}:${t.port}`;
  const key = `${origin} ${opts.connectTimeoutMs} ${opts.idleTimeoutMs}`;
  let p = byOrigin.get(key);
  if (!p) {
    const max = agent.maxSockets;
    p = new PoolClass(origin, {
      connections: Number.isFinite(max) && max > 0 ? max : DEFAULT_CONNECTIONS,
      pipelining: 1,
      keepAliveTimeout: KEEP_ALIVE_MS,
      headersTimeout: opts.idleTimeoutMs,
      bodyTimeout: opts.idleTimeoutMs,
      connect: connector(agent, opts.connectTimeoutMs) as never,
    });
    byOrigin.set(key, p);
  }
  return p;
}

const abortError = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : Object.assign(new Error('This operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });

/**
 * One request. undici notices an abort of a request that waits for a free connection only when the
 * request reaches one (it is then dropped unsent); the caller is answered at once instead.
 */
function once(pool: Pool, path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
  const req = request.call(pool, { method: 'GET', path, headers, signal });
  if (!signal) return req;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    req.then(
      (r) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) r.body.destroy();
        else resolve(r);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

const PROTOCOL_ERRORS = new Set(['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_HEADERS_OVERFLOW']);

/** undici's errors for answers that are not HTTP/1.1, or that never came, as cloudport errors; network errors stay as they are (the provider maps their codes). */
function translate(e: unknown, opts: GetOptions): unknown {
  const err = e as { name?: string; code?: string; message?: string };
  if (err?.code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new CloudportError('unexpected', `the storage endpoint sent no response head within ${opts.idleTimeoutMs} ms`, { temporary: true, cause: e });
  }
  const badResponse = err?.code === 'UND_ERR_SOCKET' && /^bad (response|upgrade)$/.test(err.message ?? '');
  if (err?.name === 'HTTPParserError' || PROTOCOL_ERRORS.has(err?.code ?? '') || badResponse) {
    return new CloudportError('unexpected', `the storage endpoint's answer is not valid HTTP/1.1 (${err.message}); its connection is closed`, {
      temporary: true,
      cause: e,
      fix: 'Retry; if it persists, check that nothing between cloudport and the endpoint (a proxy, a middlebox) rewrites answers.',
    });
  }
  return e;
}

/** A connection failure before any answer, on a socket that had already carried one: the server closed it meanwhile. */
function stale(e: unknown): boolean {
  const err = e as { code?: string; socket?: { bytesRead?: number } };
  if (!['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'].includes(err?.code ?? '')) return false;
  if (err.code === 'UND_ERR_SOCKET' && /^bad /.test((e as Error).message)) return false;
  return (err.socket?.bytesRead ?? readBefore.get(err as object) ?? 0) > 0;
}

/**
 * GETs `path` with `headers` (Host included by the caller). Resolves once the response head is in;
 * the body streams. A GET that fails on a reused keep-alive socket before any answer is sent once
 * more (a GET is idempotent).
 */
export async function httpGet(agent: http.Agent, target: GetTarget, path: string, headers: Record<string, string>, opts: GetOptions): Promise<GetResponse> {
  const pool = poolFor(agent, target, opts);
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    let r: Dispatcher.ResponseData;
    try {
      r = await once(pool, path, headers, opts.signal);
    } catch (e) {
      if (attempt === 0 && !opts.signal?.aborted && stale(e)) continue;
      throw translate(e, opts);
    }
    // undici's body reports an early destroy() (a reader that stops, as the read check does) as an
    // 'error' event, and a body can also fail before its reader attaches: the error stays on the
    // stream for whoever reads it (a `for await` throws it) instead of being an uncaught 'error' event.
    r.body.on('error', () => undefined);
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    return { status: r.statusCode, headers: flat, body: r.body };
  }
}
