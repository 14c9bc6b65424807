import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { SecurityPolicy, privateAddressReason } from '../../src/core/connectors/endpoint-policy.js';

const strict = (endpointCidrs: string[] = []) =>
  new SecurityPolicy({ envRefs: [], fileRefs: [], ambientCredentials: false, privateEndpoints: false, endpointCidrs, dataDir: os.tmpdir() });

// Each row: an address in the spelling a URL parser or resolver may hand over, and the reason it is refused (null: public).
const TABLE: [string, string | null][] = [
  // plain IPv4, as the BLOCKED_V4 table says
  ['127.0.0.1', 'loopback'],
  ['10.1.2.3', 'private'],
  ['169.254.169.254', 'link-local (cloud metadata)'],
  ['100.64.0.1', 'shared (CGNAT)'],
  ['0.0.0.0', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['255.255.255.255', 'reserved'],
  ['8.8.8.8', null],
  ['52.216.0.1', null],
  // plain IPv6, as the BLOCKED_V6 table says
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['fd00::1', 'unique-local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['ff02::1', 'multicast'],
  ['2600:1f18::1', null],
  ['2a00:1450:4001:80b::200e', null],
  // IPv4-mapped ::ffff:a.b.c.d
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['[::ffff:a9fe:a9fe]', 'link-local (cloud metadata)'],
  ['::ffff:8.8.8.8', null],
  // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks)
  ['::127.0.0.1', 'loopback'],
  ['::7f00:1', 'loopback'],
  ['[::a9fe:a9fe]', 'link-local (cloud metadata)'],
  ['::10.0.0.1', 'private'],
  ['::8.8.8.8', null],
  // SIIT ::ffff:0:a.b.c.d
  ['::ffff:0:127.0.0.1', 'loopback'],
  ['::ffff:0:a9fe:a9fe', 'link-local (cloud metadata)'],
  ['::ffff:0:8.8.8.8', null],
  // well-known NAT64 64:ff9b::/96
  ['64:ff9b::127.0.0.1', 'loopback'],
  ['64:ff9b::a9fe:a9fe', 'link-local (cloud metadata)'],
  ['64:ff9b::8.8.8.8', null],
  // local-use NAT64 64:ff9b:1::/48: the IPv4 may sit at any RFC 6052 position of a /48 to /96 prefix
  ['64:ff9b:1::127.0.0.1', 'loopback'],
  ['64:ff9b:1::a9fe:a9fe', 'link-local (cloud metadata)'],
  ['64:ff9b:1:7f00:1::', ''], // a /48 translator reads 127.0.x.x from bits 48-63 (other readings give 0.0.0.0): refused either way
  ['64:ff9b:1:abcd:ef01:2345:808:808', null],
  // 6to4 2002::/16: the IPv4 is in bits 16-47
  ['2002:7f00:1::1', 'loopback'],
  ['2002:a9fe:a9fe::', 'link-local (cloud metadata)'],
  ['2002:c0a8:101::1', 'private'],
  ['2002:808:808::1', null],
  // Teredo 2001::/32: the client address is obfuscated, so all of it is refused
  ['2001::1', 'Teredo'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
  ['2001:db8::1', null], // documentation prefix, not Teredo: as before
  // not addresses: names are judged when they resolve
  ['example.com', null],
  ['', null],
];

describe('privateAddressReason', () => {
  it.each(TABLE)('%s → %s', (address, reason) => {
    const got = privateAddressReason(address);
    if (reason === null) expect(got).toBeNull();
    else expect(got).toContain(reason);
  });
});

describe('SecurityPolicy endpoint checks', () => {
  it('refuses the embedded forms in endpoint URLs, with the field named', () => {
    const p = strict();
    for (const url of ['http://[::127.0.0.1]:9000', 'http://[::a9fe:a9fe]/', 'http://[::ffff:0:10.0.0.1]/', 'http://[64:ff9b:1::7f00:1]/', 'http://[2002:a9fe:a9fe::1]/', 'https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/']) {
      expect(() => p.checkEndpointUrl(url, 'sts_endpoint'), url).toThrow(expect.objectContaining({ kind: 'permission_denied', field: 'sts_endpoint' }));
    }
    expect(() => p.checkEndpointUrl('http://[64:ff9b::808:808]/', 'endpoint')).not.toThrow();
    expect(() => p.checkEndpointUrl('http://[2002:808:808::1]/', 'endpoint')).not.toThrow();
  });

  it('lets --allow-endpoint-cidr admit an embedded address by its IPv4, and an IPv6 range by itself', () => {
    const p = strict(['10.1.2.0/24', '2001::/32']);
    for (const a of ['10.1.2.3', '::ffff:10.1.2.3', '::10.1.2.3', '::ffff:0:10.1.2.3', '64:ff9b::10.1.2.3', '2002:a01:203::1', '2001::1']) expect(p.addressRefusal(a), a).toBeNull();
    for (const a of ['10.1.3.1', '::ffff:10.1.3.1', '64:ff9b::127.0.0.1', '2002:a01:301::1', '127.0.0.1']) expect(p.addressRefusal(a), a).not.toBeNull();
    // an IPv4 range does not open the IPv6 ranges that merely look alike
    expect(strict(['127.0.0.0/8']).addressRefusal('::1')).toBe('loopback');
    expect(strict(['fd00::/8']).addressRefusal('fd00::5')).toBeNull();
  });

  it('allows everything when private endpoints are allowed', () => {
    const p = new SecurityPolicy({ envRefs: [], fileRefs: [], ambientCredentials: false, privateEndpoints: true, endpointCidrs: [], dataDir: os.tmpdir() });
    expect(p.addressRefusal('::127.0.0.1')).toBeNull();
  });
});
