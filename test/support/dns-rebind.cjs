// Preloaded into a cloudport process (node -r) by the worker policy test: the name in REBIND_HOST
// resolves to REBIND_TO in this process only, as a DNS-rebinding attacker's name would resolve
// differently for the front door and for a worker. Every other name goes to the real lookup.
const dns = require('node:dns');
const host = process.env.REBIND_HOST;
const to = process.env.REBIND_TO;
const real = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (typeof options === 'function') [callback, options] = [options, {}];
  if (hostname !== host) return real.call(dns, hostname, options, callback);
  const family = to.includes(':') ? 6 : 4;
  const all = typeof options === 'object' && options && options.all;
  process.nextTick(() => (all ? callback(null, [{ address: to, family }]) : callback(null, to, family)));
};
