// Self-test of the loopback S3 test support: fauxqs in-process on 127.0.0.1, and our counting /
// fault-injecting proxy in front of it, driven by the real @aws-sdk/client-s3.
process.env.AWS_EC2_METADATA_DISABLED = 'true';

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
// @ts-expect-error plain JS test support
import { startS3 } from './fauxqs.mjs';
// @ts-expect-error plain JS test support
import { startProxy } from './s3-proxy.mjs';
// @ts-expect-error plain JS test support
import { loopbackArgs } from './loopback.mjs';

const BUCKET = 'selftest';

/** Local addresses (hex, as in /proc/net/tcp*) of every socket listening on `port`. */
function listeners(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // no IPv6 table on this machine
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [addr, hexPort] = (local ?? '').split(':');
      if (state === '0A' /* LISTEN */ && parseInt(hexPort ?? '', 16) === port) found.push(addr ?? '');
    }
  }
  return found;
}
const LOOPBACK_HEX = '0100007F'; // 127.0.0.1, little-endian as the kernel prints it

const refused = (port: number) =>
  new Promise<string>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });

/** Deterministic pseudo-random bytes. */
function bytes(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('loopback S3 test support', () => {
  let s3: any;
  let proxy: any;
  const clients: S3Client[] = [];
  const client = (extra: Record<string, unknown> = {}) => {
    const c = new S3Client({
      endpoint: proxy.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'selftest-secret' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...extra,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    s3 = await startS3({ buckets: [BUCKET] });
    proxy = await startProxy({ upstream: s3.endpoint });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await proxy?.stop();
    await s3?.stop();
  });

  it('rewrites wildcard listen hosts to 127.0.0.1', () => {
    const cb = () => {};
    expect(loopbackArgs([{ port: 0, host: '0.0.0.0' }])).toEqual([{ port: 0, host: '127.0.0.1' }]);
    expect(loopbackArgs([{ port: 0 }, cb])).toEqual([{ port: 0, host: '127.0.0.1' }, cb]);
    expect(loopbackArgs([0, '::', cb])).toEqual([0, '127.0.0.1', cb]);
    expect(loopbackArgs([0, cb])).toEqual([0, '127.0.0.1', cb]);
    expect(loopbackArgs([0, 511, cb])).toEqual([0, '127.0.0.1', 511, cb]);
    expect(loopbackArgs([cb])).toEqual([0, '127.0.0.1', cb]);
    expect(loopbackArgs([0, '127.0.0.2', cb])).toEqual([0, '127.0.0.2', cb]);
    expect(loopbackArgs([{ path: '/tmp/x.sock' }])).toEqual([{ path: '/tmp/x.sock' }]);
  });

  it.runIf(process.platform === 'linux')('fauxqs and the proxy listen on 127.0.0.1 only', () => {
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
    expect(listeners(s3.port)).toEqual([LOOPBACK_HEX]);
    expect(listeners(proxy.port)).toEqual([LOOPBACK_HEX]);
  });

  it('forwards SDK calls and counts them by operation', async () => {
    const c = client();
    proxy.resetCounts();
    await c.send(new HeadBucketCommand({ Bucket: BUCKET }));
    await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'dir/hello world.txt', Body: 'hello, proxy', ContentType: 'text/plain' }));
    const head = await c.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'dir/hello world.txt' }));
    expect(head.ContentLength).toBe(12);
    const get = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/hello world.txt' }));
    expect(await get.Body!.transformToString()).toBe('hello, proxy');
    const ranged = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/hello world.txt', Range: 'bytes=7-11' }));
    expect(ranged.$metadata.httpStatusCode).toBe(206);
    expect(ranged.ContentRange).toBe('bytes 7-11/12');
    expect(await ranged.Body!.transformToString()).toBe('proxy');
    const list = await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'dir/' }));
    expect(list.Contents?.map((o) => o.Key)).toEqual(['dir/hello world.txt']);
    await c.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'dir/hello world.txt' }));

    expect({ ...proxy.counts }).toEqual({ total: 7, HeadBucket: 1, PutObject: 1, HeadObject: 1, GetObject: 2, ListObjects: 1, DeleteObject: 1, other: 0 });
    expect(proxy.gets).toEqual(['dir/hello world.txt', 'dir/hello world.txt']);
    proxy.resetCounts();
    expect(proxy.counts.total).toBe(0);
  });

  it('answers an injected 503 SlowDown as S3 does', async () => {
    await s3.put(BUCKET, 'throttled.txt', 'eventually');
    proxy.resetCounts();
    proxy.addFault({
      match: { op: 'GetObject', keyIncludes: 'throttled' },
      times: 1,
      action: { type: 'status', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.', headers: { 'retry-after': '1' } },
    });
    const err = await client({ maxAttempts: 1 })
      .send(new GetObjectCommand({ Bucket: BUCKET, Key: 'throttled.txt' }))
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(S3ServiceException);
    const e = err as S3ServiceException;
    expect(e.name).toBe('SlowDown');
    expect(e.message).toBe('Please reduce your request rate.');
    expect(e.$metadata.httpStatusCode).toBe(503);
    // The rule was used up: the next request goes through.
    const ok = await client({ maxAttempts: 1 }).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'throttled.txt' }));
    expect(await ok.Body!.transformToString()).toBe('eventually');
    expect(proxy.counts.GetObject).toBe(2);
  });

  it('injects the other S3 error answers (HEAD without a body)', async () => {
    const c = client({ maxAttempts: 1 });
    const cases = [
      [403, 'SignatureDoesNotMatch'],
      [403, 'AccessDenied'],
      [404, 'NoSuchBucket'],
      [403, 'InvalidAccessKeyId'],
      [403, 'RequestTimeTooSkewed'],
    ] as const;
    for (const [status, code] of cases) {
      proxy.addFault({ match: { method: 'GET', op: 'ListObjects' }, action: { type: 'status', status, code, message: `${code} from the proxy` } });
      const e = (await c.send(new ListObjectsV2Command({ Bucket: BUCKET })).catch((x: unknown) => x)) as S3ServiceException;
      expect([e.name, e.$metadata.httpStatusCode, e.message]).toEqual([code, status, `${code} from the proxy`]);
    }
    proxy.addFault({ match: { op: 'HeadObject' }, action: { type: 'status', status: 403, code: 'AccessDenied' } });
    const e = (await c.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'throttled.txt' })).catch((x: unknown) => x)) as S3ServiceException;
    expect(e).toBeInstanceOf(S3ServiceException);
    expect(e.$metadata.httpStatusCode).toBe(403);
  });

  it('cuts a GetObject body mid-stream', async () => {
    const body = bytes(1024 * 1024, 7);
    await s3.put(BUCKET, 'cut.bin', body);
    proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'cut.bin' }, action: { type: 'cut', afterBytes: 100_000 } });
    const res = await client({ maxAttempts: 1 }).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cut.bin' }));
    expect(res.ContentLength).toBe(body.length); // the full length was announced
    let received = 0;
    const read = (async () => {
      for await (const chunk of res.Body as AsyncIterable<Uint8Array>) received += chunk.length;
    })();
    await expect(read).rejects.toThrow();
    expect(received).toBe(100_000);
  });

  it('stalls a GetObject body, then drops the connection', async () => {
    await s3.put(BUCKET, 'stall.bin', bytes(64 * 1024, 3));
    proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'stall.bin' }, action: { type: 'stall', afterBytes: 1000, ms: 300 } });
    const started = Date.now();
    const res = await client({ maxAttempts: 1 }).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'stall.bin' }));
    let received = 0;
    const read = (async () => {
      for await (const chunk of res.Body as AsyncIterable<Uint8Array>) received += chunk.length;
    })();
    await expect(read).rejects.toThrow();
    expect(received).toBe(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('stores a 12 MiB object with put() (multipart) and streams it back byte-identical', async () => {
    const body = bytes(12 * 1024 * 1024, 42);
    await s3.put(BUCKET, 'large/12mib.bin', body, { contentType: 'application/octet-stream' });
    proxy.resetCounts();
    const res = await client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'large/12mib.bin' }));
    expect(res.ContentLength).toBe(body.length);
    const got = Buffer.from(await res.Body!.transformToByteArray());
    expect(got.length).toBe(body.length);
    expect(got.equals(body)).toBe(true);
    expect(res.ETag).toMatch(/-3"$/); // three 5 MiB-or-less parts
    expect(proxy.counts.GetObject).toBe(1);
  });

  it('delays the answers of chosen operations, concurrently and with faults still applied', async () => {
    await s3.put(BUCKET, 'slow/a.bin', bytes(1000, 4));
    const c = client({ maxAttempts: 1 });
    proxy.setDelays({ GetObject: 150, ListObjects: 100 });
    try {
      let t0 = performance.now();
      const get = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'slow/a.bin' }));
      expect((await get.Body!.transformToByteArray()).length).toBe(1000);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
      // Delays overlap: four GETs at once take one delay, not four.
      t0 = performance.now();
      await Promise.all([1, 2, 3, 4].map(async () => (await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'slow/a.bin' }))).Body!.transformToByteArray()));
      const four = performance.now() - t0;
      expect(four).toBeGreaterThanOrEqual(140);
      expect(four).toBeLessThan(450);
      t0 = performance.now();
      await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'slow/' }));
      expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
      // A kind without a delay is not held back (HeadObject here); a fault answers after the delay.
      t0 = performance.now();
      await c.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'slow/a.bin' }));
      expect(performance.now() - t0).toBeLessThan(90);
      proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'slow/' }, action: { type: 'status', status: 503, code: 'SlowDown' } });
      t0 = performance.now();
      const e = (await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'slow/a.bin' })).catch((x: unknown) => x)) as S3ServiceException;
      expect(e.$metadata.httpStatusCode).toBe(503);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    } finally {
      proxy.setDelays({});
      proxy.clearFaults();
    }
    const t0 = performance.now();
    await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'slow/a.bin' }));
    expect(performance.now() - t0).toBeLessThan(90);
  });

  it('stop() frees the ports', async () => {
    const extraS3 = await startS3();
    const extraProxy = await startProxy({ upstream: extraS3.endpoint });
    const c = client({ endpoint: extraProxy.endpoint, maxAttempts: 1 });
    const e = (await c.send(new HeadBucketCommand({ Bucket: 'missing' })).catch((x: unknown) => x)) as S3ServiceException;
    expect(e.$metadata.httpStatusCode).toBe(404); // a keep-alive connection now exists on both hops
    await extraProxy.stop();
    await extraS3.stop();
    expect(await refused(extraProxy.port)).toBe('ECONNREFUSED');
    expect(await refused(extraS3.port)).toBe('ECONNREFUSED');
  });
});
