import { createHash } from 'node:crypto';
// @ts-expect-error plain JS test support
import { startS3 } from '../support/fauxqs.mjs';
// @ts-expect-error plain JS test support
import { startProxy } from '../support/s3-proxy.mjs';

export const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY';
export const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';

export interface S3Env {
  s3: { endpoint: string; put(b: string, k: string, body: Buffer | string, o?: { contentType?: string }): Promise<void>; createBucket(n: string): void; stop(): Promise<void> };
  proxy: {
    endpoint: string;
    counts: Record<string, number>;
    gets: string[];
    /** Most requests of each kind open at once since the last resetCounts(). */
    peak: Record<string, number>;
    resetCounts(): void;
    setDelays(d: Record<string, number>): void;
    addFault(rule: Record<string, unknown>): void;
    clearFaults(): void;
    stop(): Promise<void>;
  };
  /** create_connector arguments for `bucket` through the proxy. */
  connector(bucket: string, extra?: Record<string, unknown>): Record<string, unknown>;
  stop(): Promise<void>;
}

let n = 0;
export const uniqueName = (p = 'conn') => `${p}-${process.pid}-${++n}`;

export async function startS3Env(buckets: string[]): Promise<S3Env> {
  const s3 = await startS3({ buckets });
  const proxy = await startProxy({ upstream: s3.endpoint });
  return {
    s3,
    proxy,
    connector: (bucket, extra = {}) => ({
      name: uniqueName(),
      provider: 's3',
      bucket,
      endpoint: proxy.endpoint,
      credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET },
      ...extra,
    }),
    async stop() {
      await proxy.stop();
      await s3.stop();
    },
  };
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Deterministic pseudo-random bytes (distinct content per seed). */
export function bytes(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
