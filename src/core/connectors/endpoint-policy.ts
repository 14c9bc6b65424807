import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { withIdleTimeout } from '../../providers/idle-agents.js';
import { CloudportError } from '../../shared/errors.js';

/**
 * What a tenant may make the server do on its behalf. stdio serves the machine's own user and is
 * permissive; HTTP serves many tenants and refuses, unless the operator opts in: reading the
 * server's environment or files through secret references, borrowing the host's cloud identity,
 * and reaching loopback / private / link-local addresses (SSRF).
 */
export interface PolicyOptions {
  /** Environment variable patterns a `{env}` reference may name ("*" wildcards); null: any. */
  envRefs: string[] | null;
  /** Directories a `{file}` reference may point into; null: anywhere. */
  fileRefs: string[] | null;
  /** `{type: "default"}` and role assumption from the host's own credentials. */
  ambientCredentials: boolean;
  /** Endpoints on loopback, private, link-local or unique-local addresses. */
  privateEndpoints: boolean;
  /** CIDRs allowed even when private endpoints are not. */
  endpointCidrs: string[];
  /** Never readable through a reference, whatever the options: the data dir (master.key, database). */
  dataDir: string;
}

export const PERMISSIVE = (dataDir: string): PolicyOptions => ({
  envRefs: null,
  fileRefs: null,
  ambientCredentials: true,
  privateEndpoints: true,
  endpointCidrs: [],
  dataDir,
});

const BLOCKED_V4: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
const BLOCKED_V6: [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local (deprecated private)'],
  ['ff00::', 8, 'multicast'],
];
type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];
const RANGES_V4: [Cidr, string][] = BLOCKED_V4.map(([a, bits, why]) => [[ipaddr.IPv4.parse(a), bits], why]);
const RANGES_V6: [Cidr, string][] = BLOCKED_V6.map(([a, bits, why]) => [[ipaddr.IPv6.parse(a), bits], why]);
const TEREDO = 'Teredo tunnel';

/**
 * Parses a literal address (brackets allowed), or null for a name. The trailing dotted quad of an IPv6
 * literal becomes two hex groups first: ipaddr.js reads `::a.b.c.d` as `::ffff:a.b.c.d`, while the
 * socket layer connects to the IPv4-compatible `::a.b.c.d`.
 */
function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const a = address.replace(/^\[|\]$/g, '');
  const family = net.isIP(a);
  if (family === 4) return ipaddr.IPv4.parse(a);
  if (family !== 6) return null;
  const hex = a.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)(?=%|$)/, (_m, b1: string, b2: string, b3: string, b4: string) => {
    const [x1, x2, x3, x4] = [b1, b2, b3, b4].map(Number) as [number, number, number, number];
    return `${((x1 << 8) | x2).toString(16)}:${((x3 << 8) | x4).toString(16)}`;
  });
  return ipaddr.IPv6.parse(hex);
}

const v4 = (b: number[]) => new ipaddr.IPv4(b);

/**
 * The IPv4 addresses an IPv6 form delivers to, most likely first; empty for a native IPv6 address. A
 * local-use NAT64 prefix (64:ff9b:1::/48) may be any /48 to /96 inside it, and RFC 6052 puts the IPv4 at
 * a different place for each length (skipping bits 64-71): all readings are returned, as the server
 * cannot know the translator's prefix.
 */
function embeddedIPv4(a: ipaddr.IPv6): ipaddr.IPv4[] {
  const b = a.toByteArray();
  if (a.isIPv4MappedAddress()) return [a.toIPv4Address()];
  const range = a.range();
  if (range === 'rfc6145') return [v4(b.slice(12))]; // SIIT ::ffff:0:a.b.c.d
  if (range === 'rfc6052') {
    if (a.parts[2] !== 1) return [v4(b.slice(12))]; // well-known 64:ff9b::/96
    return [v4(b.slice(12)), v4(b.slice(9, 13)), v4([b[7]!, ...b.slice(9, 12)]), v4([b[6]!, b[7]!, b[9]!, b[10]!])];
  }
  if (range === '6to4') return [v4(b.slice(2, 6))]; // 2002:AABB:CCDD::/48
  if (a.parts.slice(0, 6).every((p) => p === 0)) return [v4(b.slice(12))]; // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks)
  return [];
}

interface Refusal {
  why: string;
  /** The address the reason is about: the embedded IPv4 where there is one, else the address itself. */
  judged: ipaddr.IPv4 | ipaddr.IPv6;
}

const matchIn = (a: ipaddr.IPv4 | ipaddr.IPv6, [net6, bits]: Cidr) => a.kind() === net6.kind() && a.match(net6, bits);

/** Every reason an address is not public (several readings of a local-use NAT64 address may each give one). */
function refusals(a: ipaddr.IPv4 | ipaddr.IPv6): Refusal[] {
  if (a.kind() === 'ipv4') {
    const hit = RANGES_V4.find(([cidr]) => matchIn(a, cidr));
    return hit ? [{ why: hit[1], judged: a }] : [];
  }
  const v6 = a as ipaddr.IPv6;
  const hit = RANGES_V6.find(([cidr]) => matchIn(v6, cidr));
  if (hit) return [{ why: hit[1], judged: v6 }];
  // Teredo obfuscates the client address and relays through a server address: nothing public to judge by.
  if (v6.range() === 'teredo') return [{ why: TEREDO, judged: v6 }];
  return embeddedIPv4(v6).flatMap(refusals);
}

/**
 * The reason an address is not public, or null (also for names, which are judged once resolved). IPv6
 * forms that carry an IPv4 address (mapped, IPv4-compatible, SIIT, NAT64, 6to4) are judged by it.
 */
export function privateAddressReason(address: string): string | null {
  const a = parseAddress(address);
  return a ? (refusals(a)[0]?.why ?? null) : null;
}

function wildcard(pattern: string): RegExp {
  return new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
}

/** Location keys that hold endpoints: `endpoint`, `*_endpoint`, `*_uri` (a provider convention, see providers/types.ts). */
export const isEndpointKey = (k: string) => k === 'endpoint' || k.endsWith('_endpoint') || k.endsWith('_uri');

export class SecurityPolicy {
  private readonly envPatterns: RegExp[] | null;
  private readonly allowed: Cidr[];
  private readonly dataDirReal: string;

  constructor(readonly options: PolicyOptions) {
    this.envPatterns = options.envRefs ? options.envRefs.map(wildcard) : null;
    this.allowed = options.endpointCidrs.map((cidr) => {
      const [addr, bits] = cidr.split('/');
      const a = parseAddress(addr ?? '');
      if (!a) throw new CloudportError('config_invalid', `--allow-endpoint-cidr: ${JSON.stringify(cidr)} is not a CIDR`, { field: '--allow-endpoint-cidr' });
      return [a, bits === undefined ? (a.kind() === 'ipv6' ? 128 : 32) : Number(bits)];
    });
    this.dataDirReal = realpathOr(options.dataDir);
  }

  checkEnvRef(name: string, field: string): void {
    if (/^CLOUDPORT_/i.test(name)) {
      throw new CloudportError('permission_denied', `${field}: the server's own settings (CLOUDPORT_*) cannot be read through a reference`, { field });
    }
    if (this.envPatterns && !this.envPatterns.some((p) => p.test(name))) {
      throw new CloudportError('permission_denied', `${field}: environment references are not allowed for ${name} on this server (secret-reference policy)`, {
        field,
        fix: this.envPatterns.length ? `Allowed patterns: ${this.options.envRefs!.join(', ')}. Give the secret another way.` : 'Give the secret value itself; the operator can allow names with --allow-env-refs PREFIX_*.',
      });
    }
  }

  checkFileRef(file: string, field: string): void {
    if (!path.isAbsolute(file)) throw new CloudportError('config_invalid', `${field}: file references need an absolute path`, { field, fix: 'Give the file as an absolute path on the machine cloudport runs on, e.g. {"file": "/run/secrets/key"}.' });
    const real = realpathOr(file);
    const inside = (dir: string) => real === dir || real.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
    if (inside(this.dataDirReal)) {
      throw new CloudportError('permission_denied', `${field}: files in the server's data dir cannot be read through a reference`, { field });
    }
    if (this.options.fileRefs && !this.options.fileRefs.map(realpathOr).some(inside)) {
      throw new CloudportError('permission_denied', `${field}: file references are not allowed for ${file} on this server (secret-reference policy)`, {
        field,
        fix: this.options.fileRefs.length ? `Allowed directories: ${this.options.fileRefs.join(', ')}.` : 'Give the secret value itself; the operator can allow a directory with --allow-file-refs DIR.',
      });
    }
  }

  checkAmbient(field: string): void {
    if (!this.options.ambientCredentials) {
      throw new CloudportError('permission_denied', `${field}: using the server host's own cloud identity is not allowed on this server (ambient-credentials policy)`, {
        field,
        fix: 'Give explicit credentials (e.g. access keys, or base keys for role assumption); the operator can allow it with --allow-ambient-credentials.',
      });
    }
  }

  /** Why an address may not be reached, or null when it may. */
  addressRefusal(address: string): string | null {
    if (this.options.privateEndpoints) return null;
    const a = parseAddress(address);
    if (!a) return null;
    const allowed = (x: ipaddr.IPv4 | ipaddr.IPv6) => this.allowed.some((cidr) => matchIn(x, cidr));
    // An allowed range admits the address itself, or the IPv4 address an IPv6 form carries (so
    // 10.1.2.0/24 admits ::ffff:10.1.2.3 and 64:ff9b::10.1.2.3 as well).
    if (allowed(a)) return null;
    return refusals(a).find((r) => !allowed(r.judged))?.why ?? null;
  }

  private refused(host: string, address: string, why: string, field: string): CloudportError {
    return new CloudportError(
      'permission_denied',
      `${field}: ${host}${address !== host ? ` (${address})` : ''} is ${/^(unspecified|IETF)/.test(why) ? 'an' : 'a'} ${why} address, refused by the endpoint policy (no loopback, private, link-local or unique-local endpoints in HTTP mode)`,
      { field, fix: 'Use a public endpoint; the operator can allow private ones with --allow-private-endpoints or --allow-endpoint-cidr CIDR.' },
    );
  }

  /** Literal addresses (in any spelling the URL parser accepts) are refused up front; names are checked when resolved. */
  checkEndpointUrl(url: string, field: string): void {
    let host: string;
    try {
      host = new URL(url).hostname;
    } catch {
      return; // not a URL: the field's own validation reports it
    }
    const bare = host.replace(/^\[|\]$/g, '');
    if (net.isIP(bare)) {
      const why = this.addressRefusal(bare);
      if (why) throw this.refused(host, bare, why, field);
    }
  }

  checkLocation(loc: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(loc)) if (typeof v === 'string' && v && isEndpointKey(k)) this.checkEndpointUrl(v, k);
  }

  /**
   * HTTP(S) agents for providers: names are checked on resolution (lookup) and literal addresses
   * when the socket is created, so a redirect to http://169.254.169.254/ is refused as well; with
   * `idleTimeoutMs`, a socket without a byte either way for that long is closed (withIdleTimeout).
   */
  agents(maxSockets: number, idleTimeoutMs?: number): { http: http.Agent; https: https.Agent } {
    const refusal = (options: { host?: string | null; hostname?: string | null }): Error | null => {
      const host = String(options.hostname ?? options.host ?? '').replace(/^\[|\]$/g, '');
      const why = net.isIP(host) ? this.addressRefusal(host) : null;
      return why ? this.refused(host, host, why, 'endpoint') : null;
    };
    // Node's agent takes a creation error through the callback: it becomes the request's error.
    type Create = (options: net.NetConnectOpts, cb?: (err: Error | null, socket?: net.Socket) => void) => net.Socket | undefined;
    const opts = { keepAlive: true, maxSockets, lookup: this.lookup };
    const guardAgent = <A extends http.Agent>(agent: A): A => {
      const inner = (agent as unknown as { createConnection: Create }).createConnection.bind(agent);
      (agent as unknown as { createConnection: Create }).createConnection = (options, cb) => {
        const err = refusal(options as { host?: string });
        if (err) {
          cb?.(err);
          return undefined;
        }
        return inner(options, cb);
      };
      return idleTimeoutMs ? withIdleTimeout(agent, idleTimeoutMs) : agent;
    };
    return { http: guardAgent(new http.Agent(opts)), https: guardAgent(new https.Agent(opts)) };
  }

  /** A `lookup` for sockets: every resolved address is checked at connect time, so a name that rebinds to 127.0.0.1 is refused. */
  readonly lookup: net.LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses as dns.LookupAddress[];
      for (const a of list) {
        const why = this.addressRefusal(a.address);
        if (why) return callback(this.refused(hostname, a.address, why, 'endpoint'), '', 4);
      }
      if ((options as dns.LookupOptions).all) (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

function realpathOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}
