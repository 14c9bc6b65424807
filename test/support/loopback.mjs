// Forces every server started in this process onto 127.0.0.1: fauxqs (through fastify) listens on
// 0.0.0.0 by itself, and tests must never expose a port beyond loopback.
import net from 'node:net';

const WILDCARD = new Set([undefined, null, '', '0.0.0.0', '::']);
let patched = false;

export function forceLoopbackListen() {
  if (patched) return;
  patched = true;
  const original = net.Server.prototype.listen;
  net.Server.prototype.listen = function (...args) {
    const [first] = args;
    if (first && typeof first === 'object' && !Array.isArray(first) && first.path === undefined) {
      if (WILDCARD.has(first.host)) args[0] = { ...first, host: '127.0.0.1' };
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      // listen(port[, host][, backlog][, cb])
      if (typeof args[1] !== 'string' || WILDCARD.has(args[1])) {
        const rest = typeof args[1] === 'string' ? args.slice(2) : args.slice(1);
        args = [first, '127.0.0.1', ...rest];
      }
    }
    return original.apply(this, args);
  };
}
