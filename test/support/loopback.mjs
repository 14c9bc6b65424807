// Forces every server started in this process onto 127.0.0.1: fauxqs (through fastify) listens on
// 0.0.0.0 by itself, and tests must never expose a port beyond loopback.
//
// fastify 5's listen({ port, host: '0.0.0.0' }) ends in `server.listen(listenOptions)` on a plain
// node:http Server, whose listen is net.Server.prototype.listen, so patching the prototype covers it
// (fastify only does its own DNS work and extra bindings for host 'localhost', never for 0.0.0.0).
import net from 'node:net';

const LOOPBACK = '127.0.0.1';
/** Hosts that mean "every interface" (or are missing). */
const WILDCARD = new Set([undefined, null, '', '0.0.0.0', '::', '::0', '0:0:0:0:0:0:0:0', '[::]']);
/** Marks the patched function: survives a second copy of this module (vitest may load one per graph). */
const PATCHED = Symbol.for('cloudport.test.forceLoopbackListen');

/**
 * Patches net.Server.prototype.listen (once per process) so that a listen call whose host is missing,
 * '', '0.0.0.0' or '::' binds to 127.0.0.1 instead. Pipes, fds and handles are left alone.
 *
 * Forms handled: listen(options[, cb]), listen([port][, host][, backlog][, cb]), listen(cb), listen().
 * @returns {void}
 */
export function forceLoopbackListen() {
  const current = net.Server.prototype.listen;
  if (/** @type {any} */ (current)[PATCHED]) return;
  /** @this {net.Server} @param {any[]} args */
  function listen(...args) {
    return /** @type {(...a: any[]) => net.Server} */ (current).apply(this, loopbackArgs(args));
  }
  Object.defineProperty(listen, PATCHED, { value: true });
  net.Server.prototype.listen = /** @type {any} */ (listen);
}

/**
 * Rewrites listen() arguments so a wildcard or missing host becomes 127.0.0.1.
 * @param {any[]} args
 * @returns {any[]}
 */
export function loopbackArgs(args) {
  const [first] = args;
  if (first !== null && typeof first === 'object') {
    // listen(options[, cb]) with a TCP port; leave listen(handle), { fd }, { handle }, { path } alone.
    const isTcpOptions = 'port' in first && first.path == null && first.fd == null && first.handle == null && first._handle == null;
    if (isTcpOptions && WILDCARD.has(first.host)) return [{ ...first, host: LOOPBACK }, ...args.slice(1)];
    return args;
  }
  if (args.length === 0 || typeof first === 'function') {
    // listen() / listen(cb): a random port on every interface.
    return [0, LOOPBACK, ...args];
  }
  if (first == null || typeof first === 'number' || (typeof first === 'string' && /^\s*\d+\s*$/.test(first))) {
    // listen(port[, host][, backlog][, cb]); a non-numeric string first argument is a pipe path.
    const second = args[1];
    if (typeof second === 'string') return WILDCARD.has(second) ? [first, LOOPBACK, ...args.slice(2)] : args;
    // A null/undefined host placeholder is replaced; anything else (backlog, cb) shifts right.
    if (args.length > 1 && second == null) return [first, LOOPBACK, ...args.slice(2)];
    return [first, LOOPBACK, ...args.slice(1)];
  }
  return args;
}
