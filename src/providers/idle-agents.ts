import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';

/** A request's idle timeout when the server's configuration gives none (CLOUDPORT_IDLE_TIMEOUT_MS's default). */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/**
 * HTTP agents whose sockets close after `idleTimeoutMs` without a byte either way, as the S3 client's
 * socketTimeout does: a write whose answer never comes, or a server that stops reading the body, fails
 * as a connection reset (a temporary error, so the caller's retry tries again) instead of holding the
 * job forever. Node's agent sets the timeout on every socket it creates or reuses (its `timeout`
 * option) but on a socket in use only reports it: the socket is closed here.
 */
export function withIdleTimeout<A extends http.Agent>(agent: A, idleTimeoutMs: number): A {
  (agent as unknown as { options: { timeout?: number } }).options.timeout = idleTimeoutMs;
  type Create = (options: net.NetConnectOpts, cb?: (err: Error | null, socket?: net.Socket) => void) => net.Socket | undefined;
  const target = agent as unknown as { createConnection: Create };
  const inner = target.createConnection.bind(agent);
  target.createConnection = (options, cb) => {
    const socket = inner(options, cb);
    socket?.on('timeout', () => socket.destroy(Object.assign(new Error(`no byte either way for ${idleTimeoutMs} ms (CLOUDPORT_IDLE_TIMEOUT_MS): the connection was closed`), { code: 'ECONNRESET' })));
    return socket;
  };
  return agent;
}

/** Keep-alive agents with the idle timeout (and the endpoint policy's lookup, when given). */
export function idleAgents(o: { maxSockets: number; idleTimeoutMs: number; lookup?: net.LookupFunction }): { http: http.Agent; https: https.Agent } {
  const opts = { keepAlive: true, maxSockets: o.maxSockets, ...(o.lookup ? { lookup: o.lookup } : {}) };
  return { http: withIdleTimeout(new http.Agent(opts), o.idleTimeoutMs), https: withIdleTimeout(new https.Agent(opts), o.idleTimeoutMs) };
}
