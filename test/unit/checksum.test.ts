import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChecksumVerifier, Crc32c } from '../../src/core/jobs/import/checksum.js';
// @ts-expect-error plain JS test support
import { crc32c as serverCrc32c } from '../support/gcs-server.mjs';
import { bytes } from '../helpers/s3env.js';

describe('download checksums', () => {
  it('CRC32C: the standard check value, incremental over chunks, and as the GCS server reports it', () => {
    expect(Buffer.from(new Crc32c().update(Buffer.from('123456789')).digest(), 'base64').readUInt32BE()).toBe(0xe3069283);
    const data = bytes(100_003, 3);
    const inc = new Crc32c();
    for (let i = 0; i < data.length; i += 7919) inc.update(data.subarray(i, i + 7919));
    expect(inc.digest()).toBe(serverCrc32c(data));
  });

  it('verifies MD5 when given (fed in pieces, as across resumes), else CRC32C; names both values on a mismatch', () => {
    const data = bytes(50_000, 4);
    const md5 = createHash('md5').update(data).digest('base64');
    const feed = (v: ChecksumVerifier, d: Buffer) => {
      for (let i = 0; i < d.length; i += 4096) v.update(d.subarray(i, i + 4096));
      return v.mismatch();
    };
    expect(feed(new ChecksumVerifier({ md5, crc32c: 'AAAAAA==' }), data)).toBeNull(); // MD5 wins; the CRC is not computed
    expect(feed(new ChecksumVerifier({ crc32c: serverCrc32c(data) }), data)).toBeNull();
    const flipped = Buffer.from(data);
    flipped[12_345]! ^= 0xff;
    expect(feed(new ChecksumVerifier({ md5 }), flipped)).toMatch(new RegExp(`^MD5 of the received bytes is \\S+, the provider's is ${md5.replace(/[+/]/g, '\\$&')}$`));
    expect(feed(new ChecksumVerifier({ crc32c: serverCrc32c(data) }), flipped)).toMatch(/^CRC32C of the received bytes/);
    const v = new ChecksumVerifier({ md5 });
    v.update(flipped.subarray(0, 10));
    v.reset(); // a restart from byte 0
    expect(feed(v, data)).toBeNull();
    expect(ChecksumVerifier.for(undefined)).toBeNull();
    expect(ChecksumVerifier.for({})).toBeNull();
  });
});
