import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getProvider } from '../../src/providers/index.js';
import type { Check, ProviderContext, StorageProvider } from '../../src/providers/types.js';
import { mapGcsError } from '../../src/providers/gcs/errors.js';
import { parseRetryAfter } from '../../src/shared/errors.js';
import { sendsCredentials } from '../../src/providers/gcs/provider.js';
import { FIXTURE_SA, gcsError, gcsFixture } from './gcs.fixture.js';
// @ts-expect-error plain JS test support
import { crc32c, startGcsServer } from '../support/gcs-server.mjs';
import { listAllPages } from './paging.js';
import { hasOpenssl, selfSignedCert } from '../helpers/tls.js';

/**
 * The gcs provider against our loopback GCS JSON-API server (behind the fault proxy), driven by the
 * real @google-cloud/storage client. Every socket this file opens is checked: only loopback.
 */

// ---- guard: no connection leaves loopback (and none is attempted) ----
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
/** A DNS lookup that resolves every name to 127.0.0.1 (used for the TLS test's googleapis.com name). */
const toLoopback: net.LookupFunction = (_host, opts, cb) => {
  if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
};
const connects: { host: string; port: number; allowed: boolean }[] = [];
const originalConnect = net.Socket.prototype.connect;
beforeAll(() => {
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    let first = args[0] as unknown;
    if (Array.isArray(first)) first = first[0];
    const o = (typeof first === 'object' && first ? first : { port: first, host: typeof args[1] === 'string' ? args[1] : undefined }) as { host?: string; port?: number; path?: string; lookup?: unknown };
    if (o.path) return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
    const host = o.host ?? 'localhost';
    const allowed = LOOPBACK.has(host) || o.lookup === toLoopback;
    connects.push({ host, port: Number(o.port), allowed });
    if (!allowed) {
      process.nextTick(() => this.destroy(new Error(`test guard: connection to ${host}:${o.port} refused (tests stay on loopback)`)));
      return this;
    }
    return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
});
afterAll(() => {
  net.Socket.prototype.connect = originalConnect;
  expect(connects.filter((c) => !c.allowed)).toEqual([]);
});

const CTX: ProviderContext = { maxSockets: 8, connectTimeoutMs: 5000 };
const def = getProvider('gcs');
async function open(input: Record<string, unknown>, ctx: ProviderContext = CTX): Promise<StorageProvider> {
  return def.open(def.validateLocation({ ...input }), input.credentials as never, ctx);
}
async function readAll(p: StorageProvider, key: string, opts: { offset?: number; ifVersion?: string } = {}): Promise<Buffer> {
  const r = await p.read(key, opts);
  const chunks: Buffer[] = [];
  for await (const c of r.body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
const summary = (checks: Check[]) => checks.map((c) => `${c.name}:${c.status}`);

describe('gcs provider against the loopback GCS server', () => {
  const fx = gcsFixture();
  let bucket: string;
  let provider: StorageProvider;

  beforeAll(async () => {
    await fx.start();
    bucket = await fx.createBucket();
    for (let i = 0; i < 7; i++) await fx.put(bucket, `page/k${i}.txt`, `v${i}`, 'text/plain');
    for (const k of ['tree/a.mp4', 'tree/b.txt', 'tree/sub/c.mp4', 'tree/sub/d.mp4', 'tree/sub2/e.txt', 'tree/z.txt']) await fx.put(bucket, k, k);
    provider = await open(fx.connectorInput(bucket));
  });
  afterAll(async () => {
    provider?.close();
    await fx.stop();
  });
  afterEach(() => fx.clearFaults());

  describe('list', () => {
    it('pages with small maxKeys, each key once and in order, with size / etag / generation', async () => {
      const { seen, pages } = await listAllPages(provider, 'page/', 2);
      expect(pages).toBe(4);
      expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `page/k${i}.txt`));
      const [one] = (await provider.list({ prefix: 'page/k3' })).objects;
      expect(one).toMatchObject({ key: 'page/k3.txt', size: 2 });
      expect(typeof one!.size).toBe('number');
      expect(one!.version).toMatch(/^\d+$/);
      expect(one!.etag).toBeTruthy();
      expect(Date.parse(one!.last_modified!)).not.toBeNaN();
      expect(one!.storage_class).toBeUndefined();
      expect(fx.server().get(bucket, 'page/k3.txt').generation).toBe(one!.version);
    });

    it('returns folders with a delimiter, also across pages without repeating one', async () => {
      const page = await provider.list({ prefix: 'tree/', delimiter: '/' });
      expect(page.objects.map((o) => o.key)).toEqual(['tree/a.mp4', 'tree/b.txt', 'tree/z.txt']);
      expect(page.folders).toEqual(['tree/sub/', 'tree/sub2/']);
      expect(page.nextToken).toBeNull();
      const keys: string[] = [];
      const folders: string[] = [];
      let token: string | null = null;
      do {
        const p: Awaited<ReturnType<StorageProvider['list']>> = await provider.list({ prefix: 'tree/', delimiter: '/', maxKeys: 1, token });
        expect(p.objects.length + p.folders.length).toBeLessThanOrEqual(1);
        keys.push(...p.objects.map((o) => o.key));
        folders.push(...p.folders);
        token = p.nextToken;
      } while (token);
      expect(keys).toEqual(['tree/a.mp4', 'tree/b.txt', 'tree/z.txt']);
      expect(folders).toEqual(['tree/sub/', 'tree/sub2/']);
    });

    it('reports a non-standard storage class, and caps maxKeys at 1000', async () => {
      await fx.server().put(bucket, 'cold/archive.bin', 'old', 'application/octet-stream', { storageClass: 'ARCHIVE' });
      const [o] = (await provider.list({ prefix: 'cold/', maxKeys: 5000 })).objects;
      expect(o).toMatchObject({ key: 'cold/archive.bin', storage_class: 'ARCHIVE' });
      const last = fx.server().requests.filter((r: { url: string }) => r.url.includes('/o?')).at(-1);
      expect(new URL(last.url, 'http://x').searchParams.get('maxResults')).toBe('1000');
      expect(provider.capabilities).toMatchObject({ delimiter: true, rangedRead: true, write: true, maxPageSize: 1000 });
    });
  });

  describe('hostile keys', () => {
    it('round-trip byte-exact through list, stat and read (GCS allows everything but CR / LF)', async () => {
      const b = await fx.createBucket();
      for (const [i, k] of fx.hostileKeys.entries()) await fx.put(b, k, `content ${i}`);
      expect(fx.hostileKeys.some((k) => Buffer.byteLength(k) >= 1000)).toBe(true);
      const p = await open(fx.connectorInput(b));
      const listed: string[] = [];
      let token: string | null = null;
      do {
        const page: Awaited<ReturnType<StorageProvider['list']>> = await p.list({ prefix: '', maxKeys: 5, token });
        listed.push(...page.objects.map((o) => o.key));
        token = page.nextToken;
      } while (token);
      expect(listed.map((k) => Buffer.from(k).toString('hex')).sort()).toEqual(fx.hostileKeys.map((k) => Buffer.from(k).toString('hex')).sort());
      for (const [i, k] of fx.hostileKeys.entries()) {
        expect((await readAll(p, k)).toString(), JSON.stringify(k)).toBe(`content ${i}`);
        expect((await p.stat(k)).key).toBe(k);
      }
      // Both Unicode normal forms are distinct objects: nothing was normalised on the way.
      expect(listed).toContain('cafe\u0301.txt');
      expect(listed).toContain('café.txt');
      p.close();
    });

    it('writes and deletes hostile keys through the client, and a key with a line feed is refused', async () => {
      const b = await fx.createBucket();
      const p = await open(fx.connectorInput(b));
      for (const k of ['../up/%41.txt', 'a b/c\td\u202e.txt', 'é'.repeat(500)]) {
        await p.write(k, Buffer.from(k));
        expect(fx.server().get(b, k).data.toString()).toBe(k);
        await p.delete(k);
        expect(fx.server().get(b, k)).toBeUndefined();
      }
      await expect(p.write('line\nfeed.txt', Buffer.from('x'))).rejects.toMatchObject({ kind: 'config_invalid' });
      p.close();
    });
  });

  describe('read', () => {
    it('reads a range with the right length and size, and the last byte alone', async () => {
      await fx.put(bucket, 'range.bin', 'abcdefghij', 'application/x-test');
      expect((await readAll(provider, 'range.bin', { offset: 4 })).toString()).toBe('efghij');
      const r = await provider.read('range.bin', { offset: 3 });
      expect(r).toMatchObject({ length: 7, size: 10, content_type: 'application/x-test' });
      expect(r.version).toBe(fx.server().get(bucket, 'range.bin').generation);
      r.body.destroy();
      const whole = await provider.read('range.bin');
      expect(whole).toMatchObject({ length: 10, size: 10 });
      whole.body.destroy();
      expect((await readAll(provider, 'range.bin', { offset: 9 })).toString()).toBe('j');
      const ranges = fx.server().requests.filter((q: { url: string }) => q.url.includes('range.bin') && q.url.includes('alt=media'));
      expect(ranges.length).toBeGreaterThan(0);
    });

    it('a read pinned to a generation succeeds while it is current and is a conflict once it changed (ifGenerationMatch)', async () => {
      await fx.put(bucket, 'pinned.bin', 'abcdefghij');
      const v = (await provider.stat('pinned.bin')).version;
      expect((await readAll(provider, 'pinned.bin', { offset: 5, ifVersion: v })).toString()).toBe('fghij');
      const sent = fx.server().requests.filter((q: { url: string }) => q.url.includes('pinned.bin') && q.url.includes('alt=media')).at(-1);
      expect(new URL(sent.url, 'http://x').searchParams.get('ifGenerationMatch')).toBe(v);
      await fx.put(bucket, 'pinned.bin', 'changed!!!');
      await expect(provider.read('pinned.bin', { offset: 2, ifVersion: v })).rejects.toMatchObject({ kind: 'conflict', temporary: true });
    });

    it('streams: read() resolves on the headers, before the body has arrived', async () => {
      const big = randomBytes(3 * 1024 * 1024);
      await fx.put(bucket, 'stream/big.bin', big);
      fx.addFault({ op: 'get', keyIncludes: 'big.bin', action: { type: 'stall', afterBytes: 64 * 1024, ms: 30_000 } as never });
      const started = Date.now();
      const r = await provider.read('stream/big.bin');
      expect(r).toMatchObject({ length: big.length, size: big.length });
      const first = await new Promise<Buffer>((resolve, reject) => {
        r.body.once('data', resolve);
        r.body.once('error', reject);
      });
      expect(first.length).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      r.body.destroy();
      fx.clearFaults();
      const all = await readAll(provider, 'stream/big.bin');
      expect(createHash('sha256').update(all).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
    });

    it('delivers the stored bytes of a gzip-encoded object (length = size = what was listed)', async () => {
      const { gzipSync } = await import('node:zlib');
      const gz = gzipSync(Buffer.from('hello '.repeat(1000)));
      await fx.server().put(bucket, 'enc/page.html', gz, 'text/html', { contentEncoding: 'gzip' });
      const listed = (await provider.list({ prefix: 'enc/' })).objects[0]!;
      const r = await provider.read('enc/page.html');
      expect(r).toMatchObject({ length: gz.length, size: gz.length });
      // The checksums describe the stored (gzip) bytes, which is what is delivered.
      expect(r.checksums?.md5).toBe(createHash('md5').update(gz).digest('base64'));
      r.body.destroy();
      expect(listed.size).toBe(gz.length);
      expect((await readAll(provider, 'enc/page.html')).equals(gz)).toBe(true);
      expect((await readAll(provider, 'enc/page.html', { offset: 10 })).equals(gz.subarray(10))).toBe(true);
    });

    it('an aborted read rejects and leaves no request running', async () => {
      await fx.put(bucket, 'abort.bin', randomBytes(1024));
      const ctl = new AbortController();
      ctl.abort(new Error('stop'));
      await expect(provider.read('abort.bin', { signal: ctl.signal })).rejects.toThrow('stop');
      fx.addFault({ op: 'get', keyIncludes: 'abort.bin', action: { type: 'stall', afterBytes: 0, ms: 30_000 } as never });
      const ctl2 = new AbortController();
      const pending = provider.read('abort.bin', { signal: ctl2.signal });
      setTimeout(() => ctl2.abort(new Error('stop later')), 100);
      // Headers arrive before the stall: either read() itself or its body fails with the abort.
      const outcome = await pending.then(
        async (r) => {
          for await (const _ of r.body) void _;
        },
        (e) => e,
      ).catch((e) => e);
      expect(String(outcome)).toMatch(/stop later/);
    });
  });

  describe('errors', () => {
    it('a missing bucket is not_found naming the bucket field; a missing object is not_found naming the key field', async () => {
      const p = await open(fx.connectorInput(fx.missingBucket()));
      for (const call of [() => p.list({ prefix: '' }), () => p.stat('x'), () => p.read('x')]) {
        await expect(call()).rejects.toMatchObject({ kind: 'not_found', field: 'bucket' });
      }
      p.close();
      const err = await provider.stat('no/such/key').catch((e) => e);
      expect(err).toMatchObject({ kind: 'not_found' });
      expect(err.field).toBe('key');
      await expect(provider.read('no/such/key')).rejects.toMatchObject({ kind: 'not_found' });
      await expect(provider.delete('no/such/key')).rejects.toMatchObject({ kind: 'not_found' });
    });

    it('throttling is rate_limited, temporary, with the Retry-After seconds (list, stat, read)', async () => {
      for (const [op, call] of [
        ['list', () => provider.list({ prefix: '' })],
        ['head', () => provider.stat('range.bin')],
        ['get', () => provider.read('range.bin')],
      ] as const) {
        fx.addFault({ op, action: { type: 'throttle', retryAfterSeconds: 7 } });
        const err = await (call as () => Promise<unknown>)().catch((e: Error) => e);
        expect(err, op).toMatchObject({ kind: 'rate_limited', temporary: true, retryAfter: 7 });
        expect((err as Error).message).not.toMatch(/rate of change/);
      }
      expect(parseRetryAfter(new Date(Date.now() + 30_000).toUTCString())).toBeGreaterThanOrEqual(28);
      expect(parseRetryAfter('soon')).toBeUndefined();
    });

    it('a 403 names the permission and the role that grants it; a 500 is temporary; bodies never leak', async () => {
      const b = await fx.createBucket();
      await fx.put(b, 'x.txt', 'x');
      fx.server().setPermissions(b, ['storage.objects.list']);
      const p = await open(fx.connectorInput(b));
      const denied = await p.read('x.txt').catch((e) => e);
      expect(denied).toMatchObject({ kind: 'permission_denied' });
      expect(denied.fix).toContain('storage.objects.get');
      expect(denied.fix).toContain('roles/storage.objectViewer');
      expect(JSON.stringify(denied.toInfo())).not.toMatch(/Google Cloud Storage object|"error"/);
      const w = await p.write('y.txt', Buffer.from('y')).catch((e) => e);
      expect(w).toMatchObject({ kind: 'permission_denied' });
      expect(w.fix).toContain('storage.objects.create');
      p.close();
      fx.addFault({ op: 'list', action: { type: 'server_error' } });
      await expect(provider.list({ prefix: '' })).rejects.toMatchObject({ kind: 'unexpected', temporary: true });
    });

    it('maps auth-library failures without their text: no ADC, an unusable key, a refused token', () => {
      expect(mapGcsError(new Error('Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication/getting-started for more information.'), { bucket: 'b' })).toMatchObject({
        kind: 'permission_denied',
        field: 'credentials',
      });
      expect(mapGcsError(new Error('error:1E08010C:DECODER routines::unsupported'), { bucket: 'b' })).toMatchObject({ kind: 'config_invalid', field: 'credentials.json' });
      const grant = mapGcsError(Object.assign(new Error('invalid_grant: Invalid JWT Signature.'), { response: { status: 400 } }), { bucket: 'b' });
      expect(grant).toMatchObject({ kind: 'permission_denied', field: 'credentials.json' });
      expect(grant.message).not.toMatch(/JWT/);
      expect(mapGcsError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' }, { bucket: 'b', endpoint: 'http://127.0.0.1:9' })).toMatchObject({
        kind: 'config_invalid',
        field: 'endpoint',
        temporary: true,
      });
    });

    it('a closed endpoint is config_invalid, temporary, naming the endpoint', async () => {
      const closed = net.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
      const port = (closed.address() as net.AddressInfo).port;
      await new Promise((r) => closed.close(r));
      const p = await open({ ...fx.connectorInput(bucket), endpoint: `http://127.0.0.1:${port}` });
      await expect(p.list({ prefix: '' })).rejects.toMatchObject({ kind: 'config_invalid', field: 'endpoint', temporary: true });
      p.close();
    });
  });

  describe('write and delete', () => {
    it('writes a small Buffer in one multipart request, a large one and a stream resumably; the server stores them byte-exact', async () => {
      const b = await fx.createBucket();
      const p = await open(fx.connectorInput(b));
      const server = fx.server();
      const before = server.requests.length;
      await p.write('out/small.txt', Buffer.from('hello'), { contentType: 'text/plain' });
      const big = randomBytes(9 * 1024 * 1024);
      await p.write('out/big.bin', big);
      const streamed = randomBytes(3 * 1024 * 1024 + 17);
      await p.write('out/streamed.bin', Readable.from([streamed.subarray(0, 1000), streamed.subarray(1000)]), { contentType: 'application/x-test' });
      const uploads = server.requests.slice(before).filter((r: { url: string }) => r.url.startsWith('/upload/'));
      const types = uploads.map((r: { url: string }) => new URL(r.url, 'http://x').searchParams.get('uploadType'));
      expect(types.filter((t: string) => t === 'multipart')).toHaveLength(1);
      expect(types.filter((t: string) => t === 'resumable').length).toBeGreaterThanOrEqual(4); // 2 × (session + data)
      expect(server.get(b, 'out/small.txt')).toMatchObject({ contentType: 'text/plain' });
      expect(server.get(b, 'out/small.txt').data.toString()).toBe('hello');
      expect(server.get(b, 'out/big.bin').data.equals(big)).toBe(true);
      expect(server.get(b, 'out/streamed.bin').data.equals(streamed)).toBe(true);
      expect(server.get(b, 'out/streamed.bin').contentType).toBe('application/x-test');
      expect((await readAll(p, 'out/streamed.bin')).equals(streamed)).toBe(true);
      for (const k of ['out/small.txt', 'out/big.bin', 'out/streamed.bin']) await p.delete(k);
      expect(server.keys(b)).toEqual([]);
      await expect(p.stat('out/small.txt')).rejects.toMatchObject({ kind: 'not_found' });
      p.close();
    });

    it('the client checks the crc32c the service reports: a wrong one fails the write', async () => {
      const b = await fx.createBucket();
      const p = await open(fx.connectorInput(b));
      expect(crc32c(Buffer.from('hello'))).toBe('mnG7TA=='); // the RFC 3720 Castagnoli value, base64 big-endian
      fx.proxy().addFault({ match: { op: 'PutObject' }, times: 5, action: { type: 'transform', fn: (body: string) => body.replace(/"crc32c":"[^"]+"/, '"crc32c":"AAAAAA=="') } });
      await expect(p.write('bad/crc.txt', Buffer.from('hello'))).rejects.toMatchObject({ kind: 'unexpected' });
      await expect(p.write('bad/crc-stream.bin', Readable.from([randomBytes(1000)]))).rejects.toBeTruthy();
      p.close();
    });

    it('a failing source stream rejects the write instead of hanging', async () => {
      const b = await fx.createBucket();
      const p = await open(fx.connectorInput(b));
      const broken = new Readable({
        read() {
          this.destroy(new Error('source broke'));
        },
      });
      await expect(p.write('x/broken.bin', broken)).rejects.toBeTruthy();
      p.close();
    });
  });

  describe('check()', () => {
    const opts = { write: true, exportBasePath: 'exports/' };

    it('passes auth, list, read and write (probe written under the export path and deleted)', async () => {
      const before = fx.server().requests.length;
      const checks = await provider.check(opts);
      expect(summary(checks)).toEqual(['auth:passed', 'list:passed', 'read:passed', 'write:passed']);
      const seen = fx.server().requests.slice(before);
      const iam = seen.find((r: { url: string }) => r.url.includes('/iam/testPermissions'));
      expect(new URL(iam.url, 'http://x').searchParams.getAll('permissions').sort()).toEqual(['storage.objects.create', 'storage.objects.delete', 'storage.objects.get', 'storage.objects.list']);
      expect(seen.some((r: { url: string }) => /exports%2F\.cloudport-probe-|name=exports%2F\.cloudport-probe-/.test(r.url))).toBe(true);
      expect(fx.server().keys(bucket).filter((k: string) => k.startsWith('exports/'))).toEqual([]);
      // The read check reads one byte.
      const media = seen.filter((r: { url: string }) => r.url.includes('alt=media'));
      expect(media.length).toBe(1);
    });

    it('without write: the write check is skipped with the given reason, or left out', async () => {
      const a = await provider.check({ write: false, exportBasePath: '', writeSkippedReason: 'skipped: server is read-only' });
      expect(a.at(-1)).toEqual({ name: 'write', status: 'skipped', detail: 'skipped: server is read-only' });
      const b = await provider.check({ write: false, exportBasePath: '' });
      expect(summary(b)).toEqual(['auth:passed', 'list:passed', 'read:passed']);
    });

    it('an empty bucket: read is skipped because there is no object to read', async () => {
      const p = await open(fx.connectorInput(await fx.createBucket()));
      const checks = await p.check({ write: false, exportBasePath: '' });
      expect(checks[2]).toEqual({ name: 'read', status: 'skipped', detail: 'skipped: no object to read' });
      p.close();
    });

    it('a missing permission fails its check with a fix naming the permission and the role', async () => {
      const cases: [string, string, string[], string][] = [
        ['storage.objects.list', 'roles/storage.objectViewer', ['auth:passed', 'list:failed', 'read:skipped', 'write:passed'], 'list'],
        ['storage.objects.get', 'roles/storage.objectViewer', ['auth:passed', 'list:passed', 'read:failed', 'write:passed'], 'read'],
        ['storage.objects.create', 'roles/storage.objectCreator', ['auth:passed', 'list:passed', 'read:passed', 'write:failed'], 'write'],
        ['storage.objects.delete', 'roles/storage.objectUser', ['auth:passed', 'list:passed', 'read:passed', 'write:failed'], 'write'],
      ];
      for (const [perm, role, expected, name] of cases) {
        const b = await fx.createBucket();
        await fx.put(b, 'x.txt', 'x');
        fx.server().setPermissions(b, ['storage.objects.list', 'storage.objects.get', 'storage.objects.create', 'storage.objects.delete'].filter((x) => x !== perm));
        const p = await open(fx.connectorInput(b));
        const checks = await p.check(opts);
        expect(summary(checks), perm).toEqual(expected);
        const failed = checks.find((c) => c.name === name)!;
        expect(failed).toMatchObject({ status: 'failed', kind: 'permission_denied', fix: `Grant ${perm} (role ${role}) on bucket ${b} to these credentials.` });
        if (perm === 'storage.objects.list') expect(checks[2]!.detail).toBe('skipped: listing failed');
        p.close();
      }
    });

    it('bad credentials (401) fail auth and skip the rest, saying why', async () => {
      fx.addFault({ op: 'any', times: 20, action: { type: 'bad_credentials' } });
      const p = await open(fx.badCredentialsInput(bucket));
      const checks = await p.check(opts);
      expect(summary(checks)).toEqual(['auth:failed', 'list:skipped', 'read:skipped', 'write:skipped']);
      expect(checks[0]).toMatchObject({ kind: 'permission_denied' });
      expect(checks[0]!.fix).toBeTruthy();
      expect(checks.slice(1).every((c) => c.detail === 'skipped: auth failed')).toBe(true);
      p.close();
    });

    it('a missing bucket: auth passes (the answer was authenticated), list fails not_found, the rest is skipped', async () => {
      const p = await open(fx.connectorInput(fx.missingBucket()));
      const checks = await p.check(opts);
      expect(summary(checks)).toEqual(['auth:passed', 'list:failed', 'read:skipped', 'write:skipped']);
      expect(checks[1]).toMatchObject({ kind: 'not_found' });
      p.close();
    });

    it('throttling during the check fails auth as temporary (rate_limited), nothing else runs', async () => {
      fx.addFault({ op: 'any', action: { type: 'throttle', retryAfterSeconds: 1 } });
      const checks = await provider.check({ write: false, exportBasePath: '' });
      expect(summary(checks)).toEqual(['auth:failed', 'list:skipped', 'read:skipped']);
      expect(checks[0]!.kind).toBe('rate_limited');
    });
  });

  describe('credentials and what reaches the network', () => {
    it('with an http endpoint nothing carries an Authorization header, for a key and for {type: "default"}; only loopback is contacted', async () => {
      const before = fx.server().requests.length;
      const connectsBefore = connects.length;
      for (const credentials of [{ type: 'service_account', json: FIXTURE_SA }, { type: 'default' }]) {
        const p = await open({ ...fx.connectorInput(bucket), credentials });
        expect(summary(await p.check({ write: true, exportBasePath: 'auth-test/' }))).toEqual(['auth:passed', 'list:passed', 'read:passed', 'write:passed']);
        await p.write('auth-test/stream.bin', Readable.from([randomBytes(1024)]));
        await p.delete('auth-test/stream.bin');
        p.close();
      }
      const seen = fx.server().requests.slice(before);
      expect(seen.length).toBeGreaterThan(8);
      expect(seen.filter((r: { authorization: string | null }) => r.authorization !== null)).toEqual([]);
      expect(connects.slice(connectsBefore).every((c) => c.host === '127.0.0.1')).toBe(true);
    });

    it('credentials go only to https googleapis.com endpoints', () => {
      expect(sendsCredentials(null)).toBe(true);
      expect(sendsCredentials('https://storage.googleapis.com')).toBe(true);
      expect(sendsCredentials('https://storage-myendpoint.p.googleapis.com')).toBe(true);
      expect(sendsCredentials('https://private.googleapis.com/')).toBe(true);
      expect(sendsCredentials('http://storage.googleapis.com')).toBe(false);
      expect(sendsCredentials('http://127.0.0.1:4443')).toBe(false);
      expect(sendsCredentials('https://gcs.example.com')).toBe(false);
      expect(sendsCredentials('https://googleapis.com.evil.example')).toBe(false);
      expect(sendsCredentials('https://evilgoogleapis.com')).toBe(false);
    });

    it('service-account JSON: parsed in open(), config_invalid naming credentials.json; hint and token_uri', async () => {
      const loc = def.validateLocation({ bucket: 'b-1', endpoint: 'http://127.0.0.1:1' });
      for (const json of ['not json', '{"type":"authorized_user","client_id":"x"}', JSON.stringify({ type: 'service_account', client_email: 'a@b' })]) {
        await expect(def.open(loc, { type: 'service_account', json } as never, CTX)).rejects.toMatchObject({ kind: 'config_invalid', field: 'credentials.json' });
      }
      expect(def.credentialHint({ type: 'service_account', json: FIXTURE_SA })).toBe('importer@contract-test.iam.gserviceaccount.com');
      expect(def.credentialEndpoints!({ type: 'service_account', json: FIXTURE_SA })).toEqual({});
      const custom = JSON.stringify({ ...JSON.parse(FIXTURE_SA), token_uri: 'https://oauth.example.com/token' });
      expect(def.credentialEndpoints!({ type: 'service_account', json: custom })).toEqual({ token_uri: 'https://oauth.example.com/token' });
      expect(JSON.stringify(def.credentialEndpoints!({ type: 'service_account', json: custom }))).not.toMatch(/PRIVATE KEY/);
      expect(def.usesAmbientIdentity!({ type: 'default' })).toBe(true);
      expect(def.usesAmbientIdentity!({ type: 'service_account', json: FIXTURE_SA })).toBe(false);
      expect(() => def.validateLocation({ bucket: 'gs://b/x' })).toThrow(/bare name/);
      expect(def.validateLocation({ bucket: 'my-bucket', project_id: 'p1', endpoint: 'http://127.0.0.1:1' })).toEqual({ bucket: 'my-bucket', region: null, endpoint: 'http://127.0.0.1:1', project_id: 'p1' });
    });
  });
});

// ---- credentials over TLS to a googleapis.com name (resolved to loopback by the test's lookup) ----
const HOST = 'storage-loopback.p.googleapis.com';

describe.skipIf(!hasOpenssl)('gcs provider with credentials over TLS (Application Default Credentials from a loopback metadata server)', () => {
  let server: any;
  let metadata: http.Server;
  let token = 'ya29.loopback-good';
  const tokenRequests: string[] = [];
  const saved = { GCE_METADATA_HOST: process.env.GCE_METADATA_HOST, METADATA_SERVER_DETECTION: process.env.METADATA_SERVER_DETECTION };
  let ctx: ProviderContext;
  let endpoint: string;

  beforeAll(async () => {
    const { key, cert } = selfSignedCert(HOST);
    server = await startGcsServer({ tls: { key, cert } });
    server.createBucket('tls-bucket');
    await server.put('tls-bucket', 'a.txt', 'over tls');
    server.requireAuth(true);
    endpoint = `https://${HOST}:${server.port}`;
    // A GCE-style metadata server on loopback that hands out the current access token.
    metadata = http.createServer((req, res) => {
      if (req.headers['metadata-flavor'] !== 'Google') return void res.writeHead(403).end();
      res.setHeader('metadata-flavor', 'Google');
      if (req.url?.startsWith('/computeMetadata/v1/instance/service-accounts/default/token')) {
        tokenRequests.push(token);
        res.setHeader('content-type', 'application/json');
        return void res.end(JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }));
      }
      if (req.url?.startsWith('/computeMetadata/v1/universe/universe-domain')) return void res.end('googleapis.com');
      if (req.url?.startsWith('/computeMetadata/v1/project/project-id')) return void res.end('loopback-project');
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => metadata.listen(0, '127.0.0.1', () => r()));
    process.env.GCE_METADATA_HOST = `127.0.0.1:${(metadata.address() as net.AddressInfo).port}`;
    process.env.METADATA_SERVER_DETECTION = 'assume-present';
    ctx = {
      maxSockets: 4,
      connectTimeoutMs: 5000,
      agents: { http: new http.Agent({ lookup: toLoopback }), https: new https.Agent({ ca: cert, lookup: toLoopback }) },
    };
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await server?.stop();
    await new Promise((r) => metadata?.close(r));
  });

  it('sends the bearer token to a googleapis.com endpoint: list, read and check work', async () => {
    const p = await open({ provider: 'gcs', bucket: 'tls-bucket', endpoint, credentials: { type: 'default' } }, ctx);
    expect((await p.list({ prefix: '' })).objects.map((o) => o.key)).toEqual(['a.txt']);
    expect((await readAll(p, 'a.txt')).toString()).toBe('over tls');
    expect(summary(await p.check({ write: false, exportBasePath: '' }))).toEqual(['auth:passed', 'list:passed', 'read:passed']);
    const auths = new Set(server.requests.map((r: { authorization: string | null }) => r.authorization));
    expect([...auths]).toEqual(['Bearer ya29.loopback-good']);
    expect(tokenRequests.length).toBeGreaterThan(0);
    p.close();
  });

  it('a resumable upload goes through the given agents and carries the token', async () => {
    const p = await open({ provider: 'gcs', bucket: 'tls-bucket', endpoint, credentials: { type: 'default' } }, ctx);
    const before = server.requests.length;
    const data = randomBytes(256 * 1024);
    await p.write('up/resumable.bin', Readable.from([data]));
    expect(server.get('tls-bucket', 'up/resumable.bin').data.equals(data)).toBe(true);
    const seen = server.requests.slice(before);
    expect(seen.some((r: { url: string }) => r.url.includes('uploadType=resumable'))).toBe(true);
    expect(seen.every((r: { authorization: string | null }) => r.authorization === 'Bearer ya29.loopback-good')).toBe(true);
    p.close();
  });

  it('a revoked token is answered 401: auth fails, naming the credentials', async () => {
    token = 'ya29.revoked-by-admin';
    const p = await open({ provider: 'gcs', bucket: 'tls-bucket', endpoint, credentials: { type: 'default' } }, ctx);
    await expect(p.list({ prefix: '' })).rejects.toMatchObject({ kind: 'permission_denied', field: 'credentials' });
    const checks = await p.check({ write: false, exportBasePath: '' });
    expect(summary(checks)).toEqual(['auth:failed', 'list:skipped', 'read:skipped']);
    expect(checks[0]).toMatchObject({ kind: 'permission_denied' });
    expect(server.requests.at(-1).authorization).toBe('Bearer ya29.revoked-by-admin');
    p.close();
  });

  it('{type: "default"} without ADC on the host: the client tries anonymously (public buckets), and the 401 names the missing ADC', async () => {
    const env = { HOME: process.env.HOME, CLOUDSDK_CONFIG: process.env.CLOUDSDK_CONFIG, GOOGLE_APPLICATION_CREDENTIALS: process.env.GOOGLE_APPLICATION_CREDENTIALS, METADATA_SERVER_DETECTION: process.env.METADATA_SERVER_DETECTION };
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-noadc-'));
    Object.assign(process.env, { HOME: home, CLOUDSDK_CONFIG: path.join(home, 'gcloud'), METADATA_SERVER_DETECTION: 'none' });
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    const before = server.requests.length;
    const tokensBefore = tokenRequests.length;
    try {
      const p = await open({ provider: 'gcs', bucket: 'tls-bucket', endpoint, credentials: { type: 'default' } }, ctx);
      const err = await p.list({ prefix: '' }).catch((e) => e);
      expect(err).toMatchObject({ kind: 'permission_denied', field: 'credentials' });
      expect(err.fix).toMatch(/application-default login|GOOGLE_APPLICATION_CREDENTIALS/);
      const checks = await p.check({ write: false, exportBasePath: '' });
      expect(summary(checks)).toEqual(['auth:failed', 'list:skipped', 'read:skipped']);
      expect(checks[0]!.fix).toMatch(/application-default login/);
      expect(server.requests.slice(before).every((r: { authorization: string | null }) => r.authorization === null)).toBe(true);
      expect(tokenRequests.length).toBe(tokensBefore);
      p.close();
    } finally {
      for (const [k, v] of Object.entries(env)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('the same server without a token (an http-style anonymous call) is refused 401', async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      https.get({ host: '127.0.0.1', port: server.port, path: '/storage/v1/b/tls-bucket/o', servername: HOST, ca: undefined, rejectUnauthorized: false }, resolve).on('error', reject),
    );
    expect(res.statusCode).toBe(401);
    const body = JSON.parse(await new Promise<string>((r) => {
      let s = '';
      res.on('data', (c) => (s += c)).on('end', () => r(s));
    }));
    expect(body).toMatchObject({ error: { code: 401, errors: [{ reason: 'required' }] } });
  });
});

// Keeps the fixture's error helper covered too (the same body shape the server sends).
it('fixture error bodies have the GCS shape', () => {
  expect(JSON.parse(gcsError(429, 'rateLimitExceeded', 'slow'))).toEqual({ error: { code: 429, message: 'slow', errors: [{ message: 'slow', domain: 'global', reason: 'rateLimitExceeded' }] } });
});
