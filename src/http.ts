import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { App } from './core/app.js';
import type { Principal } from './core/keys.js';
import { createServer } from './server.js';
import type { Logger } from './shared/log.js';

/**
 * The team front door: MCP over Streamable HTTP at /mcp, GET /healthz. Every /mcp request passes,
 * in order: Host/Origin checks (DNS rebinding), a body size limit, bearer-key auth, and a per-key
 * rate limit; only then does it reach the MCP transport, with a server scoped to the key's organization.
 */
export interface HttpOptions {
  host: string;
  port: number;
  /** null: the defaults for the bound address and port (see defaultAllowed). */
  allowedHosts: string[] | null;
  allowedOrigins: string[] | null;
  stateless: boolean;
  maxBodyBytes: number;
  /** Requests per minute per key. */
  rateLimit: number;
  readOnly: boolean;
  version: string;
  log: Logger;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  keyId: string;
  close(): Promise<void>;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const rpcError = (code: number, message: string) => ({ jsonrpc: '2.0', error: { code, message }, id: null });

/** Token bucket per key. */
class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly perMinute: number) {}
  /** 0 when allowed, else seconds to wait. */
  take(key: string): number {
    const now = Date.now();
    const b = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + ((now - b.at) / 60_000) * this.perMinute);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - b.tokens) * 60) / this.perMinute));
  }
}

async function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | 'too_large'> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return 'too_large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return 'too_large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function serveHttp(app: App, opts: HttpOptions): Promise<{ url: string; close(): Promise<void> }> {
  const sessions = new Map<string, Session>();
  const limiter = new RateLimiter(opts.rateLimit);
  const allowedHosts = new Set((opts.allowedHosts ?? []).map((h) => h.toLowerCase()));
  const allowedOrigins = new Set((opts.allowedOrigins ?? []).map((o) => o.toLowerCase()));
  let closing = false;

  const authenticate = async (req: http.IncomingMessage): Promise<Principal | null | 'missing'> => {
    const h = req.headers.authorization;
    if (!h) return 'missing';
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    return m ? app.keys.authenticate(m[1]!) : null;
  };

  const newServer = (p: Principal) => createServer(app, { org: p.orgId, readOnly: opts.readOnly || p.readOnly, readOnlyKey: p.readOnly && !opts.readOnly, version: opts.version, log: opts.log.child({ org: p.orgName }) });

  const handleMcp = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, opts.maxBodyBytes);
      if (raw === 'too_large') {
        res.setHeader('connection', 'close');
        return sendJson(res, 413, rpcError(-32600, `request body larger than ${opts.maxBodyBytes} bytes`));
      }
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return sendJson(res, 400, rpcError(-32700, 'Parse error'));
      }
    }
    const who = await authenticate(req);
    if (who === 'missing' || who === null) {
      return sendJson(res, 401, { error: who === 'missing' ? 'missing bearer key' : 'invalid or revoked key' }, {
        'www-authenticate': who === 'missing' ? 'Bearer realm="cloudport"' : 'Bearer realm="cloudport", error="invalid_token"',
      });
    }
    const wait = limiter.take(who.keyId);
    if (wait) return sendJson(res, 429, rpcError(-32000, 'rate limit exceeded'), { 'retry-after': String(wait) });

    if (opts.stateless) {
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
      if (!s || s.keyId !== who.keyId) return sendJson(res, 404, rpcError(-32001, 'Session not found'));
      return s.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) return sendJson(res, 400, rpcError(-32000, 'Bad Request: no valid session ID provided'));
    const server = newServer(who);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, keyId: who.keyId, close: async () => void (await server.close()) });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    return transport.handleRequest(req, res, body);
  };

  const httpServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    // DNS rebinding protection: a browser tricked into calling us carries a foreign Host or Origin.
    const host = (req.headers.host ?? '').toLowerCase();
    const origin = req.headers.origin?.toLowerCase();
    if (!allowedHosts.has(host) || (origin !== undefined && !allowedOrigins.has(origin))) {
      return sendJson(res, 403, { error: 'forbidden host or origin' });
    }
    if (closing) return sendJson(res, 503, { error: 'shutting down' }, { connection: 'close' });
    if (url.pathname === '/healthz' && req.method === 'GET') {
      return void app
        .health()
        .then((h) => sendJson(res, h.ok ? 200 : 503, h))
        .catch(() => sendJson(res, 503, { ok: false }));
    }
    if (url.pathname !== '/mcp') return sendJson(res, 404, { error: 'not found' });
    if (!['POST', 'GET', 'DELETE'].includes(req.method ?? '')) return sendJson(res, 405, { error: 'method not allowed' }, { allow: 'POST, GET, DELETE' });
    handleMcp(req, res).catch((e) => {
      opts.log.error('http request failed', { error: (e as Error).message });
      sendJson(res, 500, rpcError(-32603, 'Internal error'));
    });
  });
  httpServer.requestTimeout = 0; // long polls and SSE streams stay open
  httpServer.headersTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, opts.host, () => resolve());
  });
  const addr = httpServer.address() as { port: number; address: string };
  const defaults = defaultAllowed(opts.host, addr.port);
  if (!opts.allowedHosts) for (const h of defaults.hosts) allowedHosts.add(h.toLowerCase());
  if (!opts.allowedOrigins) for (const o of defaults.origins) allowedOrigins.add(o.toLowerCase());
  const hostPart = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${hostPart}:${addr.port}/mcp`,
    async close() {
      closing = true;
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeIdleConnections();
      });
      for (const s of sessions.values()) await s.close().catch(() => undefined);
      httpServer.closeAllConnections();
    },
  };
}

/** Default Host / Origin allow-lists: the bound address and the localhost forms, with the port. */
export function defaultAllowed(host: string, port: number): { hosts: string[]; origins: string[] } {
  const names = new Set([host, 'localhost', '127.0.0.1', '[::1]']);
  const hosts = [...names].map((h) => `${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`);
  return { hosts, origins: hosts.flatMap((h) => [`http://${h}`, `https://${h}`]) };
}
