import fs from 'node:fs';
import http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { JSONRPCMessageSchema, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { App } from './core/app.js';
import { CloudportError } from './shared/errors.js';
import type { Principal } from './core/orgs/api-keys.js';
import { createServer } from './server.js';
import type { Toolset } from './tools/toolsets.js';
import type { Logger } from './shared/log.js';

/**
 * The team front door: MCP over Streamable HTTP at /mcp, GET /healthz, the web console at GET /ui. Every /mcp request passes,
 * in order: Host/Origin checks (DNS rebinding), bearer-key auth on the headers alone (with a limit on
 * failed attempts per remote address), a per-key rate limit, the body under a size limit and a deadline,
 * the rate limit again for every further JSON-RPC request of a batch; only then does it reach the MCP
 * transport, with a server scoped to the key's organization. Nothing of a body is read before its sender
 * is authenticated, so an unauthenticated client cannot hold a connection open by trickling bytes.
 */
export interface HttpOptions {
  host: string;
  port: number;
  /** null: the defaults for the bound address and port (see defaultAllowed). */
  allowedHosts: string[] | null;
  allowedOrigins: string[] | null;
  stateless: boolean;
  maxBodyBytes: number;
  /** JSON-RPC requests per minute per key; each request of a batch counts. */
  rateLimit: number;
  /** Failed authentications per minute per remote address. */
  authFailureLimit: number;
  /** MCP sessions one key holds at once. */
  maxSessionsPerKey: number;
  /** An authenticated request's body must arrive within this time. */
  bodyTimeoutMs: number;
  /** A session without a request in flight for this long is closed. */
  sessionIdleMs: number;
  readOnly: boolean;
  /** The toolsets every session exposes (--toolsets); null: all. */
  toolsets: readonly Toolset[] | null;
  version: string;
  log: Logger;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  keyId: string;
  close(): Promise<void>;
  /** Last time a request on it started or ended: the order of eviction. */
  lastSeen: number;
  /** Requests in flight, open SSE streams included: a session with one is never idle. */
  active: number;
  idleTimer: NodeJS.Timeout | null;
}

let consolePage: { html: Buffer; csp: string } | null = null;

/**
 * The web console (views/console.html): a static page that signs in with an API key kept in the tab's
 * sessionStorage and calls /mcp like any MCP client, so every action goes through the same tools, org
 * scoping and read-only rules. No cookies (no CSRF surface), no secret in the page, its own inline code
 * allowed by hash only, never framed.
 */
function sendConsole(res: http.ServerResponse, headOnly: boolean): void {
  if (!consolePage) {
    let html: Buffer;
    try {
      html = fs.readFileSync(new URL('./views/console.html', import.meta.url));
    } catch {
      // A build without its pages (tsc alone) still serves MCP; the console says what is missing.
      return sendJson(res, 404, { error: 'the web console is not built (npm run build makes dist/views/console.html)' });
    }
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html.toString('utf8'))?.[1] ?? "default-src 'none'";
    consolePage = { html, csp: `${meta}; frame-ancestors 'none'` };
  }
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': consolePage.html.length,
    'content-security-policy': consolePage.csp,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    'cross-origin-opener-policy': 'same-origin',
  });
  res.end(headOnly ? undefined : consolePage.html);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const rpcError = (code: number, message: string) => ({ jsonrpc: '2.0', error: { code, message }, id: null });

/** Token bucket per key (an API key's id, or a remote address for failed authentications). */
class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(readonly perMinute: number) {}

  private refill(key: string): { tokens: number; at: number } {
    const now = Date.now();
    const b = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + ((now - b.at) / 60_000) * this.perMinute);
    b.at = now;
    this.buckets.set(key, b);
    return b;
  }

  private secondsUntil(tokens: number, n: number): number {
    return Math.max(1, Math.ceil(((n - tokens) * 60) / this.perMinute));
  }

  /** Spends n tokens and returns 0, or spends nothing and returns the seconds until n tokens are there. */
  take(key: string, n = 1): number {
    const b = this.refill(key);
    if (b.tokens >= n) {
      b.tokens -= n;
      return 0;
    }
    return this.secondsUntil(b.tokens, n);
  }

  /** Like take, without spending: 0 when a token is there. Keeps no bucket for a key that has none. */
  peek(key: string): number {
    if (!this.buckets.has(key)) return 0;
    const b = this.refill(key);
    return b.tokens >= 1 ? 0 : this.secondsUntil(b.tokens, 1);
  }

  /** Forgets full buckets: a remembered full bucket says nothing a missing one does not, and the map stays small. */
  sweep(): void {
    const now = Date.now();
    for (const [key, b] of this.buckets) if (b.tokens + ((now - b.at) / 60_000) * this.perMinute >= this.perMinute) this.buckets.delete(key);
  }
}

/** Digests of keys that authenticated lately: they pass even while their address is over its failure limit. */
class RecentKeys {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}
  has(digest: string): boolean {
    const until = this.seen.get(digest);
    return until !== undefined && until > Date.now();
  }
  add(digest: string): void {
    this.seen.delete(digest); // re-inserted last: the map's order is the order of use
    this.seen.set(digest, Date.now() + this.ttlMs);
    if (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!);
  }
  delete(digest: string): void {
    this.seen.delete(digest);
  }
}

type Body = { ok: Buffer } | { fail: 'too_large' | 'timeout' | 'aborted' };

/** Reads a request body of at most `max` bytes that must arrive completely within `timeoutMs`. */
function readBody(req: http.IncomingMessage, max: number, timeoutMs: number): Promise<Body> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return Promise.resolve({ fail: 'too_large' });
  return new Promise<Body>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (r: Body) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      resolve(r);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) return finish({ fail: 'too_large' });
      chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: Buffer.concat(chunks) });
    const onError = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    const onClose = () => finish({ fail: 'aborted' });
    // A total deadline, not an idle one: a byte every few seconds would keep an idle timer from firing.
    const timer = setTimeout(() => finish({ fail: 'timeout' }), timeoutMs);
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/** JSON-RPC requests and notifications in a parsed body (responses to the server's own requests are free). */
function countRequests(body: unknown): number {
  const isCall = (m: unknown) => typeof m === 'object' && m !== null && 'method' in m;
  return Array.isArray(body) ? body.filter(isCall).length : isCall(body) ? 1 : 0;
}

/** Keys that authenticated within this time still pass while their remote address is over its failure limit. */
const RECENT_KEY_MS = 10 * 60_000;
/** How often the keys of open sessions and requests are looked up again (a revocation ends them within this). */
const REVOCATION_CHECK_MS = 2_000;

/** How long a shutdown waits for the calls in flight (long polls answer at once) before closing. */
const SHUTDOWN_DRAIN_MS = 3000;

export async function serveHttp(app: App, opts: HttpOptions): Promise<{ url: string; close(): Promise<void> }> {
  const sessions = new Map<string, Session>();
  let inflight = 0;
  let drained: (() => void) | null = null;
  const limiter = new RateLimiter(opts.rateLimit);
  const failures = new RateLimiter(opts.authFailureLimit);
  const recentKeys = new RecentKeys(RECENT_KEY_MS, 10_000);
  const allowedHosts = new Set((opts.allowedHosts ?? []).flatMap((h) => hostForms(h.toLowerCase())));
  // Without --allowed-origins, the origins are those of the allowed hosts (a browser page served there).
  const allowedOrigins = new Set(opts.allowedOrigins ? opts.allowedOrigins.map((o) => o.toLowerCase()) : [...allowedHosts].flatMap((h) => [`http://${h}`, `https://${h}`]));
  let closing = false;
  const sweeper = setInterval(() => {
    limiter.sweep();
    failures.sweep();
  }, 60_000);
  sweeper.unref();
  /** Requests open now (long polls, SSE streams), by key: a key revoked meanwhile ends them. */
  const openByKey = new Map<string, Set<http.ServerResponse>>();
  /** The ids of the requests a POST carried (answered on its response). */
  const requestIds = new WeakMap<http.ServerResponse, (string | number)[]>();
  /**
   * `keys revoke` runs in another process, and a key is checked when a request arrives: a long poll or a
   * stream already open would outlive the revocation. Every few seconds, the keys with open sessions or
   * requests are looked up; a revoked one's sessions close and its open requests end (401 when nothing
   * was sent yet).
   */
  let checkingKeys = false;
  const revocations = setInterval(() => {
    const ids = new Set([...openByKey.keys(), ...[...sessions.values()].map((x) => x.keyId)]);
    if (!ids.size || checkingKeys) return;
    checkingKeys = true;
    void app.keys
      .revokedAmong([...ids])
      .then((gone) => {
        for (const keyId of gone) {
          // A request whose answer streams (its progress sent already) gets a JSON-RPC error on its stream
          // before the session closes: the client learns why instead of waiting for its own timeout.
          // (A JSON answer is written whole, so a POST's response with its head sent and not ended is a stream.)
          const streams = [...(openByKey.get(keyId) ?? [])].filter((r) => r.headersSent && !r.writableEnded && requestIds.get(r)?.length);
          for (const r of streams) {
            r.on('error', () => undefined);
            for (const id of requestIds.get(r) ?? []) r.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32000, message: 'the API key was revoked: this request ends unanswered; use a valid key' } })}\n\n`);
          }
          for (const [id, x] of sessions) if (x.keyId === keyId) closeSession(id, 'key revoked');
          for (const r of openByKey.get(keyId) ?? []) {
            if (!r.headersSent) sendJson(r, 401, { error: 'invalid or revoked key' }, { connection: 'close' });
            else if (streams.includes(r)) setImmediate(() => r.writableEnded || r.end());
            else r.destroy();
          }
        }
      })
      .catch((e) => opts.log.debug('key revocation check failed', { error: (e as Error).message }))
      .finally(() => (checkingKeys = false));
  }, REVOCATION_CHECK_MS);
  revocations.unref();

  /**
   * Authenticates on the headers alone, before any byte of the body is read. Answers 401, or 429 for an
   * address over its failure limit, itself (closing the connection, so an unread body cannot keep it) and
   * returns null then. Behind a reverse proxy every client shares the proxy's address: keys that worked
   * lately still pass while it is over the limit, so a flood of bad keys cannot lock out working clients.
   */
  const authenticate = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<Principal | null> => {
    const addr = req.socket.remoteAddress ?? 'unknown';
    // Two Authorization headers are refused: Node reads the first, a proxy in front may read the last,
    // and the two would disagree on who calls.
    const headers = req.headersDistinct.authorization ?? [];
    const header = headers.length === 1 ? headers[0] : headers.length ? 'several' : undefined;
    const token = header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
    const digest = token ? createHash('sha256').update(token).digest('base64url') : null;
    const wait = failures.peek(addr);
    if (wait && !(digest && recentKeys.has(digest))) {
      sendJson(res, 429, rpcError(-32000, 'too many failed authentications from this address; retry later'), { 'retry-after': String(wait), connection: 'close' });
      return null;
    }
    let who: Principal | null = null;
    try {
      who = token ? await app.keys.authenticate(token) : null;
    } catch (e) {
      // The key could not be looked up (the database unreachable): the caller is not at fault, and it passes.
      opts.log.warn('key lookup failed', { error: (e as Error).message });
      sendJson(res, 503, rpcError(-32000, 'the store is unreachable for now; retry shortly'), { 'retry-after': '5', connection: 'close' });
      return null;
    }
    if (!who) {
      if (failures.take(addr)) opts.log.debug('failed authentication over the limit', { remote: addr });
      if (digest) recentKeys.delete(digest); // a revoked key loses its pass at once
      sendJson(res, 401, { error: header ? 'invalid or revoked key' : 'missing bearer key' }, {
        'www-authenticate': header ? 'Bearer realm="cloudport", error="invalid_token"' : 'Bearer realm="cloudport"',
        connection: 'close',
      });
      return null;
    }
    recentKeys.add(digest!);
    return who;
  };

  const newServer = (p: Principal) => createServer(app, { org: p.orgId, readOnly: opts.readOnly || p.readOnly, readOnlyKey: p.readOnly && !opts.readOnly, toolsets: opts.toolsets, version: opts.version, log: opts.log.child({ org: p.orgName }) });

  const closeSession = (id: string, reason: string) => {
    const s = sessions.get(id);
    if (!s) return;
    forget(id);
    opts.log.info('closing MCP session', { reason, key_id: s.keyId });
    s.close().catch((e) => opts.log.warn('closing MCP session failed', { error: (e as Error).message }));
  };
  const forget = (id: string) => {
    const s = sessions.get(id);
    if (s?.idleTimer) clearTimeout(s.idleTimer);
    sessions.delete(id);
  };
  /** Counts a request (or stream) on a session while it lasts; the idle clock runs only when none is open. */
  const track = (id: string, s: Session, res: http.ServerResponse) => {
    s.active++;
    s.lastSeen = Date.now();
    if (s.idleTimer) clearTimeout(s.idleTimer);
    s.idleTimer = null;
    res.once('close', () => {
      s.active--;
      s.lastSeen = Date.now();
      if (s.active === 0 && sessions.get(id) === s) {
        s.idleTimer = setTimeout(() => closeSession(id, 'idle'), opts.sessionIdleMs);
        s.idleTimer.unref();
      }
    });
  };
  /**
   * Makes room for a new session of `keyId`: beyond the limit the key's least recently used session
   * goes (one without a request in flight first). Evicting rather than refusing keeps a client that
   * reconnects without DELETE working; a key can only ever close its own sessions.
   */
  const makeRoom = (keyId: string) => {
    const own = [...sessions].filter(([, s]) => s.keyId === keyId);
    if (own.length < opts.maxSessionsPerKey) return;
    own.sort(([, a], [, b]) => Number(a.active > 0) - Number(b.active > 0) || a.lastSeen - b.lastSeen);
    for (const [id] of own.slice(0, own.length - opts.maxSessionsPerKey + 1)) closeSession(id, 'session limit of the key');
  };

  const handleMcp = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const who = await authenticate(req, res);
    if (!who) return;
    const mine = openByKey.get(who.keyId) ?? new Set();
    openByKey.set(who.keyId, mine.add(res));
    res.once('close', () => {
      mine.delete(res);
      if (!mine.size && openByKey.get(who.keyId) === mine) openByKey.delete(who.keyId);
    });
    // The first token is spent before the body is read: a key over its limit costs no body read.
    const wait = limiter.take(who.keyId);
    if (wait) return sendJson(res, 429, rpcError(-32000, `rate limit exceeded: this key may send ${opts.rateLimit} requests per minute; retry in ${wait} s`), { 'retry-after': String(wait), connection: 'close' });

    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, opts.maxBodyBytes, opts.bodyTimeoutMs);
      if ('fail' in raw) {
        // The rest of the body is never read: the connection is closed rather than kept for the next request.
        if (raw.fail === 'too_large') return sendJson(res, 413, rpcError(-32600, `request body larger than ${opts.maxBodyBytes} bytes`), { connection: 'close' });
        if (raw.fail === 'timeout') {
          opts.log.debug('request body deadline passed', { remote: req.socket.remoteAddress, key_id: who.keyId });
          return sendJson(res, 408, rpcError(-32000, `request body not received within ${opts.bodyTimeoutMs} ms`), { connection: 'close' });
        }
        return void res.destroy();
      }
      try {
        body = JSON.parse(raw.ok.toString('utf8'));
      } catch {
        return sendJson(res, 400, rpcError(-32700, 'Parse error'));
      }
      // JSON that is no JSON-RPC message is an Invalid Request (-32600), not a parse error as the SDK would say.
      const messages = Array.isArray(body) ? body : [body];
      if (!messages.length || !messages.every((m) => JSONRPCMessageSchema.safeParse(m).success)) {
        return sendJson(res, 400, rpcError(-32600, 'Invalid Request: each message needs jsonrpc "2.0" and a method (with an id that is a string or a number for a request), or is a response to a request of ours'));
      }
      // Batches are accepted (clients on protocol 2025-03-26 may send them), but every request in one
      // spends a token, all or none: a batch never buys more calls than the same requests sent one by one.
      const n = countRequests(body);
      // A refused batch keeps the one token taken before its body was read: refunded, a key could have
      // bodies read and parsed without end by sending batches too large to pass.
      if (n > opts.rateLimit) {
        return sendJson(res, 429, rpcError(-32000, `batch of ${n} requests exceeds the rate limit of ${opts.rateLimit} per minute; send at most ${opts.rateLimit} at once`));
      }
      const more = n > 1 ? limiter.take(who.keyId, n - 1) : 0;
      if (more) return sendJson(res, 429, rpcError(-32000, `rate limit exceeded: too few requests left for a batch of ${n}`), { 'retry-after': String(more) });
      requestIds.set(res, messages.flatMap((m) => ('method' in m && 'id' in m && (typeof m.id === 'string' || typeof m.id === 'number') ? [m.id] : [])));
    }

    if (opts.stateless) {
      // No session: no stream for a GET to open (it would stay open, holding a server, until the client
      // leaves) and nothing for a DELETE to end. The SDK's stateless example answers them 405 too.
      if (req.method !== 'POST') {
        return sendJson(res, 405, rpcError(-32000, `${req.method} /mcp is not available on a stateless server: every request is a POST of its own`), { allow: 'POST' });
      }
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      const server = newServer(who);
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      return transport.handleRequest(req, res, body);
    }

    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const s = sessions.get(sid);
      // A session is bound to the key that opened it: another key sees "not found", like an unknown id.
      if (!s || s.keyId !== who.keyId) return sendJson(res, 404, rpcError(-32001, 'Session not found: it expired, was closed, or belongs to another key; send initialize again without an Mcp-Session-Id header to start a new one'));
      track(sid, s, res);
      return s.transport.handleRequest(req, res, body);
    }
    if (req.method === 'POST' && Array.isArray(body) && body.some((m) => isInitializeRequest(m))) {
      return sendJson(res, 400, rpcError(-32600, 'Invalid Request: initialize must be sent alone, not in a batch; send it as one message, then the rest with the Mcp-Session-Id header it answers with'));
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) return sendJson(res, 400, rpcError(-32000, 'Bad Request: no valid session ID provided; start a session with an initialize request sent alone (without an Mcp-Session-Id header)'));
    const server = newServer(who);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        // Synchronous from the check to the insert: concurrent initializes cannot overshoot the limit.
        makeRoom(who.keyId);
        const s: Session = { transport, keyId: who.keyId, close: async () => void (await server.close()), lastSeen: Date.now(), active: 0, idleTimer: null };
        sessions.set(id, s);
        track(id, s, res);
      },
      onsessionclosed: (id) => forget(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) forget(transport.sessionId);
    };
    await server.connect(transport);
    return transport.handleRequest(req, res, body);
  };

  const httpServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    // DNS rebinding protection: a browser tricked into calling us carries a foreign Host or Origin.
    const host = (req.headers.host ?? '').toLowerCase();
    const origin = req.headers.origin?.toLowerCase();
    // A keyless /healthz answers {ok} alone: load balancers and probes address the instance by its IP,
    // and nothing in that answer is worth a rebinding page's while.
    const probe = url.pathname === '/healthz' && req.method === 'GET' && req.headers.authorization === undefined;
    if (!probe && (!allowedHosts.has(host) || (origin !== undefined && !allowedOrigins.has(origin)))) {
      return sendJson(res, 403, { error: 'forbidden host or origin' });
    }
    if (closing) return sendJson(res, 503, { error: 'shutting down' }, { connection: 'close' });
    if (url.pathname === '/healthz' && req.method === 'GET') {
      // Without a key: liveness only (load balancers need no more). With a valid key: the store's state
      // and this process's configuration, never anything about other tenants' work.
      const details = req.headers.authorization !== undefined;
      return void (details ? authenticate(req, res) : Promise.resolve(null))
        .then(async (who) => {
          if (details && !who) return;
          const h = await app.health();
          sendJson(res, h.ok ? 200 : 503, who ? h : { ok: h.ok });
        })
        .catch(() => sendJson(res, 503, { ok: false }));
    }
    if (url.pathname === '/ui' || url.pathname === '/ui/') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      return sendConsole(res, req.method === 'HEAD');
    }
    if (url.pathname !== '/mcp') return sendJson(res, 404, { error: 'not found' });
    if (!['POST', 'GET', 'DELETE'].includes(req.method ?? '')) return sendJson(res, 405, { error: 'method not allowed' }, { allow: 'POST, GET, DELETE' });
    // Calls in flight (not the SSE streams): a shutdown lets them answer before the sessions close.
    if (req.method === 'POST') {
      inflight++;
      res.once('close', () => void (--inflight === 0 && drained?.()));
    }
    handleMcp(req, res).catch((e) => {
      opts.log.error('http request failed', { error: (e as Error).message });
      sendJson(res, 500, rpcError(-32603, 'Internal error'));
    });
  });
  // Node's requestTimeout stays off: the body has its own deadline (opts.bodyTimeoutMs), which starts
  // only after authentication and answers in JSON-RPC; headers have Node's headersTimeout. Once a request
  // is in, nothing times out its answer: long polls and SSE streams stay open as long as they last.
  httpServer.requestTimeout = 0;
  httpServer.headersTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', (e: NodeJS.ErrnoException) => {
      // The operator's settings, named: a port in use, a host this machine is not or cannot resolve.
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES') reject(new CloudportError('config_invalid', `cannot listen on port ${opts.port} (${e.code === 'EADDRINUSE' ? 'another process uses it' : 'not allowed'})`, { field: '--port', fix: 'Give --port a free port (or stop the process that holds it).' }));
      else if (e.code === 'ENOTFOUND' || e.code === 'EADDRNOTAVAIL' || e.code === 'EAI_AGAIN') reject(new CloudportError('config_invalid', `cannot listen on host ${opts.host} (${e.code})`, { field: '--host', fix: 'Give --host an address of this machine, e.g. 127.0.0.1 or 0.0.0.0.' }));
      else reject(e);
    });
    httpServer.listen(opts.port, opts.host, () => resolve());
  });
  const addr = httpServer.address() as { port: number; address: string };
  const defaults = defaultAllowed(opts.host, addr.port);
  if (!opts.allowedHosts) for (const h of defaults.hosts) allowedHosts.add(h.toLowerCase());
  if (!opts.allowedOrigins && !opts.allowedHosts) for (const o of defaults.origins) allowedOrigins.add(o.toLowerCase());
  const hostPart = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${hostPart}:${addr.port}/mcp`,
    /**
     * Stops taking requests, has the long polls answer now, lets the calls in flight finish (up to
     * SHUTDOWN_DRAIN_MS), then closes the sessions (which ends their SSE streams) and every
     * connection. A client's open stream never holds the shutdown up.
     */
    async close() {
      closing = true;
      clearInterval(sweeper);
      clearInterval(revocations);
      for (const s of sessions.values()) if (s.idleTimer) clearTimeout(s.idleTimer);
      const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      app.jobs.endWaits();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, SHUTDOWN_DRAIN_MS).unref();
        });
      }
      for (const s of sessions.values()) await s.close().catch(() => undefined);
      httpServer.closeAllConnections();
      await stopped;
    },
  };
}

/** Default Host / Origin allow-lists: the bound address and the localhost forms, with the port. */
/**
 * A Host value and the forms a client may send for the same place: behind TLS a proxy passes
 * "name" or "name:443" alike, so a name given bare also admits its default ports, and the reverse.
 */
function hostForms(h: string): string[] {
  const m = /^(\[[^\]]*\]|[^:]+)(?::(\d+))?$/.exec(h);
  if (!m) return [h];
  const [, name, port] = m;
  if (!port) return [h, `${name}:80`, `${name}:443`];
  return port === '80' || port === '443' ? [h, name!] : [h];
}

export function defaultAllowed(host: string, port: number): { hosts: string[]; origins: string[] } {
  const names = new Set([host, 'localhost', '127.0.0.1', '[::1]']);
  const hosts = [...names].map((h) => `${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`);
  return { hosts, origins: hosts.flatMap((h) => [`http://${h}`, `https://${h}`]) };
}
