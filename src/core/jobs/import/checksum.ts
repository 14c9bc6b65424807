import { createHash, type Hash } from 'node:crypto';
import type { ObjectChecksums } from '../../../providers/types.js';

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Incremental CRC32C (Castagnoli), the checksum GCS keeps for every object. */
export class Crc32c {
  private c = 0xffffffff;
  update(buf: Uint8Array): this {
    let c = this.c;
    for (let i = 0; i < buf.length; i++) c = CRC32C_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
    this.c = c;
    return this;
  }
  /** The 4 bytes big-endian, base64 (as GCS reports it). */
  digest(): string {
    const out = Buffer.alloc(4);
    out.writeUInt32BE((this.c ^ 0xffffffff) >>> 0);
    return out.toString('base64');
  }
}

/**
 * Verifies the bytes of a whole object, fed in order (across ranged resumes), against the checksums
 * the provider reported for it. MD5 when the provider has one (cheap, native); CRC32C only when it
 * is the only checksum there is (GCS composite objects).
 */
export class ChecksumVerifier {
  private md5: Hash | null = null;
  private crc: Crc32c | null = null;

  /** `md5Outside`: the MD5 is computed by whoever writes the bytes (a hash worker) and given to mismatch(). */
  constructor(
    private readonly want: ObjectChecksums,
    private readonly md5Outside = false,
  ) {
    this.reset();
  }

  /** Null when the provider reported nothing to verify. */
  static for(want: ObjectChecksums | undefined, md5Outside = false): ChecksumVerifier | null {
    return want && (want.md5 || want.crc32c) ? new ChecksumVerifier(want, md5Outside) : null;
  }

  /** Whether mismatch() needs the MD5 of the bytes from outside. */
  get needsMd5(): boolean {
    return !!this.want.md5 && this.md5Outside;
  }

  reset(): void {
    this.md5 = this.want.md5 && !this.md5Outside ? createHash('md5') : null;
    this.crc = !this.want.md5 && this.want.crc32c ? new Crc32c() : null;
  }

  update(chunk: Buffer): void {
    this.md5?.update(chunk);
    this.crc?.update(chunk);
  }

  /** A description of the mismatch, or null when the bytes match. Call once, after the last byte. */
  mismatch(md5?: string): string | null {
    if (this.want.md5) {
      const got = this.md5 ? this.md5.digest('base64') : md5;
      return got === this.want.md5 ? null : `MD5 of the received bytes is ${got}, the provider's is ${this.want.md5}`;
    }
    if (this.crc) {
      const got = this.crc.digest();
      return got === this.want.crc32c ? null : `CRC32C of the received bytes is ${got}, the provider's is ${this.want.crc32c}`;
    }
    return null;
  }
}
