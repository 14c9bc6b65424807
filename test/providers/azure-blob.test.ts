import { createHash } from 'node:crypto';
import net from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerSASPermissions, generateBlobSASQueryParameters } from '@azure/storage-blob';
import { getProvider } from '../../src/providers/index.js';
import type { Check, StorageProvider } from '../../src/providers/types.js';
// @ts-expect-error plain JS test support
import { startAzurite } from '../support/azurite.mjs';
// @ts-expect-error plain JS test support
import { azureOp, startProxy } from '../support/s3-proxy.mjs';
import { listAllPages } from './paging.js';

/**
 * The azure_blob provider driven directly (no server), against azurite 3.37.0 behind our fault
 * proxy. Faults are answered the way Azure answers them (XML <Error> bodies, x-ms-error-code).
 * DefaultAzureCredential is never run here: only its refusal of plain-http endpoints, which happens
 * before any identity is looked up.
 */
const def = getProvider('azure_blob');
const azureError = (status: number, code: string, message: string, headers: Record<string, string> = {}) => ({
  type: 'status',
  status,
  body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  headers: { 'content-type': 'application/xml', 'x-ms-error-code': code, ...headers },
});

let az: any;
let proxy: any;
let n = 0;
const endpoint = () => `${proxy.endpoint}/${az.accountName}`;
const newContainer = async (fill: Record<string, string | Buffer> = {}) => {
  const name = `t${process.pid}-${++n}`;
  await az.createContainer(name);
  for (const [k, v] of Object.entries(fill)) await az.put(name, k, v);
  return name;
};
const sas = (container: string, rights: string, opts: { expiresOn?: Date; startsOn?: Date } = {}) =>
  generateBlobSASQueryParameters(
    { containerName: container, permissions: ContainerSASPermissions.parse(rights), expiresOn: opts.expiresOn ?? new Date(Date.now() + 3600_000), ...(opts.startsOn ? { startsOn: opts.startsOn } : {}) },
    az.credential,
  ).toString();

async function open(location: Record<string, unknown>, creds: Record<string, unknown>): Promise<StorageProvider> {
  def.validateCredentials?.(creds);
  return def.open(def.validateLocation(location), creds as never, { maxSockets: 8, connectTimeoutMs: 5000 });
}
const withKey = (container: string) => open({ container, endpoint: endpoint() }, { type: 'account_key', account_key: az.accountKey });

async function readAll(p: StorageProvider, key: string, offset = 0): Promise<Buffer> {
  const r = await p.read(key, { offset });
  const chunks: Buffer[] = [];
  for await (const c of r.body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
const statuses = (checks: Check[]) => checks.map((c) => `${c.name}:${c.status}`);

beforeAll(async () => {
  az = await startAzurite();
  proxy = await startProxy({ upstream: `http://127.0.0.1:${az.port}`, classify: azureOp });
});
afterAll(async () => {
  await proxy?.stop();
  await az?.stop();
});

describe('azure_blob definition (no network)', () => {
  it('validates container and account names and stores bucket = container', () => {
    expect(def.validateLocation({ container: 'media-2024', account_name: 'mystorage' })).toEqual({ bucket: 'media-2024', container: 'media-2024', account_name: 'mystorage', region: null, endpoint: null });
    expect(def.validateLocation({ container: '$root', endpoint: 'http://127.0.0.1:1/acct/' })).toMatchObject({ bucket: '$root', endpoint: 'http://127.0.0.1:1/acct' });
    for (const bad of ['ab', 'Media', 'a--b', '-abc', 'abc-', 'a_b', 'a.b', 'x'.repeat(64)]) {
      expect(() => def.validateLocation({ container: bad, account_name: 'acct' }), bad).toThrow(expect.objectContaining({ kind: 'config_invalid', field: 'container' }));
    }
    expect(() => def.validateLocation({ account_name: 'acct' })).toThrow(expect.objectContaining({ kind: 'config_invalid', field: 'container' }));
    expect(() => def.validateLocation({ container: 'abc', account_name: 'My_Account' })).toThrow(expect.objectContaining({ field: 'account_name' }));
    expect(() => def.validateLocation({ container: 'abc', account_name: 'one', endpoint: 'https://two.blob.core.windows.net' })).toThrow(expect.objectContaining({ field: 'account_name' }));
  });

  it('refuses to open when nothing locates the account, naming account_name', async () => {
    for (const creds of [{ type: 'account_key', account_key: 'a2V5' }, { type: 'sas', sas_token: 'sv=2024&sp=rl&sig=abc' }, { type: 'default' }]) {
      await expect(open({ container: 'abc' }, creds), creds.type).rejects.toMatchObject({ kind: 'config_invalid', field: 'account_name' });
    }
    // An endpoint that does not name the account (a custom domain) needs account_name for a key.
    await expect(open({ container: 'abc', endpoint: 'https://files.example.com' }, { type: 'account_key', account_key: 'a2V5' })).rejects.toMatchObject({ field: 'account_name' });
    // Bearer tokens never go over plain http (checked before any identity is looked up).
    await expect(open({ container: 'abc', endpoint: 'http://127.0.0.1:1/acct' }, { type: 'default' })).rejects.toMatchObject({ kind: 'config_invalid', field: 'endpoint' });
  });

  it('validates credentials without echoing secrets', () => {
    const bad = (creds: Record<string, unknown>, field: string) => {
      let err: any;
      try {
        def.validateCredentials!(creds);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(creds)).toMatchObject({ kind: 'config_invalid', field });
      expect(JSON.stringify({ m: err.message, f: err.fix })).not.toContain('s3cr3t');
    };
    bad({ type: 'sas' }, 'credentials.sas_token');
    bad({ type: 'sas', sas_token: 'sv=1&sig=s3cr3t', sas_url: 'https://a.blob.core.windows.net/c?sig=s3cr3t' }, 'credentials.sas_url');
    bad({ type: 'sas', sas_token: 'sv=2024&sp=rl' }, 'credentials.sas_token');
    bad({ type: 'sas', sas_url: 'https://a.blob.core.windows.net/c' }, 'credentials.sas_url');
    bad({ type: 'sas', sas_url: 'not a url s3cr3t' }, 'credentials.sas_url');
    bad({ type: 'connection_string', connection_string: 'AccountName=a;BlobEndpoint=https://a.blob.core.windows.net' }, 'credentials.connection_string');
    bad({ type: 'connection_string', connection_string: 'AccountKey=s3cr3t' }, 'credentials.connection_string');
    expect(() => def.validateCredentials!({ type: 'sas', sas_token: { env: 'AZ_SAS' } })).not.toThrow();
  });

  it('exposes endpoints hidden in credentials without their secrets, and hints without signatures', () => {
    const cs = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${az.accountKey};BlobEndpoint=http://127.0.0.1:7/devstoreaccount1/;`;
    expect(def.credentialEndpoints!({ type: 'connection_string', connection_string: cs })).toEqual({ blob_endpoint: 'http://127.0.0.1:7/devstoreaccount1' });
    expect(def.credentialEndpoints!({ type: 'connection_string', connection_string: 'AccountName=prod1;AccountKey=k;EndpointSuffix=core.chinacloudapi.cn' })).toEqual({ blob_endpoint: 'https://prod1.blob.core.chinacloudapi.cn' });
    expect(def.credentialEndpoints!({ type: 'connection_string', connection_string: 'UseDevelopmentStorage=true' })).toEqual({ blob_endpoint: 'http://127.0.0.1:10000/devstoreaccount1' });
    const url = 'https://prod1.blob.core.windows.net/media?sv=2024-08-04&sp=rl&se=2030-01-01T00%3A00%3A00Z&sig=s3cr3t';
    expect(def.credentialEndpoints!({ type: 'sas', sas_url: url })).toEqual({ blob_endpoint: 'https://prod1.blob.core.windows.net' });
    expect(def.credentialEndpoints!({ type: 'sas', sas_url: 'http://[::1]:10000/acct/media?sig=x' })).toEqual({ blob_endpoint: 'http://[::1]:10000/acct' });
    expect(def.credentialEndpoints!({ type: 'sas', sas_url: { env: 'X' } })).toEqual({});
    expect(def.credentialHint({ type: 'sas', sas_url: url })).toBe('SAS sp=rl until 2030-01-01T00:00:00Z');
    expect(def.credentialHint({ type: 'sas', sas_token: '?sv=2024&sp=r&sig=s3cr3t' })).toBe('SAS sp=r');
    expect(def.credentialHint({ type: 'connection_string', connection_string: cs })).toBe('account devstoreaccount1');
    expect(def.credentialHint({ type: 'connection_string', connection_string: 'BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=1&sp=l&sig=s3cr3t' })).toBe('SAS sp=l');
    expect(def.credentialHint({ type: 'default' })).toBe('DefaultAzureCredential');
    expect(def.credentialHint({ type: 'account_key', account_key: az.accountKey })).toBeUndefined();
    expect(def.usesAmbientIdentity!({ type: 'default' })).toBe(true);
  });
});

describe('azure_blob provider against azurite', () => {
  let bucket: string;
  let p: StorageProvider;

  beforeAll(async () => {
    bucket = await newContainer();
    for (let i = 0; i < 7; i++) await az.put(bucket, `page/k${i}.txt`, `v${i}`, 'text/plain');
    await az.put(bucket, 'tree/a.mp4', 'a');
    await az.put(bucket, 'tree/b.txt', 'b');
    await az.put(bucket, 'tree/sub/c.mp4', 'c');
    await az.put(bucket, 'range.bin', 'abcdefghij', 'application/octet-stream');
    p = await withKey(bucket);
  });
  afterAll(() => p?.close());

  it('lists across pages with continuation tokens, each blob once, with size, time, unquoted etag = version', async () => {
    proxy.resetCounts();
    const { seen, pages } = await listAllPages(p, 'page/', 2);
    expect(pages).toBe(4);
    expect(proxy.counts.ListObjects).toBe(4);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `page/k${i}.txt`));
    const one = (await p.list({ prefix: 'page/k3' })).objects[0]!;
    expect(one).toMatchObject({ key: 'page/k3.txt', size: 2 });
    expect(one.etag).toMatch(/^[^"]+$/);
    expect(one.version).toBe(one.etag);
    expect(new Date(one.last_modified!).toISOString()).toBe(one.last_modified);
    expect(one.storage_class).toBeUndefined();
    expect(await p.stat('page/k3.txt')).toEqual(one);
  });

  it('lists folders with a delimiter, also across pages', async () => {
    const page = await p.list({ prefix: 'tree/', delimiter: '/' });
    expect(page.objects.map((o) => o.key)).toEqual(['tree/a.mp4', 'tree/b.txt']);
    expect(page.folders).toEqual(['tree/sub/']);
    const all: string[] = [];
    let token: string | null = null;
    do {
      const pg: Awaited<ReturnType<StorageProvider['list']>> = await p.list({ prefix: '', delimiter: '/', maxKeys: 1, token });
      all.push(...pg.folders, ...pg.objects.map((o) => o.key));
      token = pg.nextToken;
    } while (token);
    expect(all.sort()).toEqual(['page/', 'range.bin', 'tree/']);
  });

  it('reads a range with correct length and size, streaming (read returns before the body is complete)', async () => {
    const r = await p.read('range.bin', { offset: 4 });
    expect(r).toMatchObject({ length: 6, size: 10, content_type: 'application/octet-stream' });
    expect(r.version).toBe((await p.stat('range.bin')).version);
    r.body.destroy();
    expect((await readAll(p, 'range.bin', 4)).toString()).toBe('efghij');
    expect((await readAll(p, 'range.bin')).toString()).toBe('abcdefghij');
    expect(await p.read('range.bin')).toMatchObject({ length: 10, size: 10 });

    // The proxy holds the rest of a 4 MiB body back: read() must still resolve and deliver the first bytes.
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    await az.put(bucket, 'big.bin', big);
    proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'big.bin' }, action: { type: 'stall', afterBytes: 65536, ms: 30_000 } });
    const s = await p.read('big.bin', { offset: 1 });
    expect(s).toMatchObject({ length: big.length - 1, size: big.length });
    let got = 0;
    for await (const c of s.body as AsyncIterable<Buffer>) {
      got += c.length;
      if (got >= 65536) break; // leaving the loop destroys the stream
    }
    expect(got).toBe(65536);
  });

  it('a read pinned to a version that changed is a temporary conflict; the current one reads', async () => {
    await az.put(bucket, 'pinned.txt', 'first');
    const v = (await p.stat('pinned.txt')).version;
    const ok = await p.read('pinned.txt', { offset: 1, ifVersion: v });
    ok.body.destroy();
    await az.put(bucket, 'pinned.txt', 'second');
    await expect(p.read('pinned.txt', { offset: 2, ifVersion: v })).rejects.toMatchObject({ kind: 'conflict', temporary: true });
    const now = (await p.stat('pinned.txt')).version;
    expect(now).not.toBe(v);
    const r = await p.read('pinned.txt', { ifVersion: now });
    r.body.destroy();
  });

  it('stores, lists and reads hostile names byte-exact (what azurite and the client allow)', async () => {
    // Left out, by rule: "." and ".." path segments are resolved by URL parsing before a request is
    // sent ("a/../b.txt" is stored as "b.txt"; "../x" leaves the container: 400 InvalidResourceName);
    // "\" becomes "/" the same way; azurite answers 500 to listings of names holding ESC (0x1b) or
    // NUL, and lists CR as "&#xD;". Segments made of more than dots, tabs and LF are fine.
    const keys = ['..a/b..c/..txt', '.../x', 'tab\tname.txt', 'line\nfeed.txt', 'bidi\u202egnp.exe', 'cafe\u0301.txt', 'café.txt', '100%.txt', '%2F%00.txt', 'spaces in name .txt', ' lead', 'q?x#y&z=1.txt', 'x/' + 'long'.repeat(200) + '.txt'];
    const c = await newContainer();
    for (const [i, k] of keys.entries()) await az.put(c, k, `content ${i}`);
    const hp = await withKey(c);
    const listed = (await hp.list({ prefix: '', maxKeys: 1000 })).objects.map((o) => o.key);
    expect([...listed].sort()).toEqual([...keys].sort());
    for (const [i, k] of keys.entries()) {
      expect((await readAll(hp, k)).toString(), JSON.stringify(k)).toBe(`content ${i}`);
      expect((await hp.stat(k)).key).toBe(k);
    }
    // The two forms of "café" are different blobs.
    expect(listed.filter((k) => k.normalize('NFC') === 'café.txt')).toHaveLength(2);
    hp.close();
  });

  it('documents the azurite limit: a name holding ESC breaks listing (500 → unexpected, temporary), and ".." is resolved away', async () => {
    const c = await newContainer({ 'a/../resolved.txt': 'x', 'esc\u001bname.txt': 'x' });
    const hp = await withKey(c);
    const err = await hp.list({ prefix: '' }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'unexpected', temporary: true });
    expect(err.message).not.toContain('<');
    expect((await hp.list({ prefix: 'resolved' })).objects.map((o) => o.key)).toEqual(['resolved.txt']);
    hp.close();
  });

  it('names a missing container (field container) and a missing blob as not_found', async () => {
    const missing = await withKey('no-such-container');
    const err = await missing.list({ prefix: '' }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'not_found', field: 'container' });
    const checks = await missing.check({ write: false, exportBasePath: '' });
    expect(statuses(checks)).toEqual(['auth:passed', 'list:failed', 'read:skipped']);
    expect(checks[1]).toMatchObject({ kind: 'not_found' });
    missing.close();
    await expect(p.stat('no/such/key')).rejects.toMatchObject({ kind: 'not_found' });
    await expect(p.read('no/such/key')).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('maps throttling (503 ServerBusy) to rate_limited, temporary, honouring Retry-After, on bodies and HEADs', async () => {
    proxy.addFault({ match: { op: 'ListObjects' }, action: azureError(503, 'ServerBusy', 'The server is busy.', { 'retry-after': '7' }) });
    const err = await p.list({ prefix: '' }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'rate_limited', temporary: true, retryAfter: 7 });
    expect(err.message).not.toMatch(/<|ServerBusy<\/Code>/);
    proxy.addFault({ match: { op: 'HeadObject' }, action: azureError(503, 'ServerBusy', 'Ingress is over the account limit.', { 'retry-after': new Date(Date.now() + 3000).toUTCString() }) });
    const head = await p.stat('range.bin').catch((e) => e);
    expect(head).toMatchObject({ kind: 'rate_limited', temporary: true });
    expect(head.retryAfter).toBeGreaterThanOrEqual(1);
    expect(head.retryAfter).toBeLessThanOrEqual(3);
    proxy.addFault({ match: { op: 'GetObject' }, action: azureError(500, 'OperationTimedOut', 'Operation could not be completed within the specified time.') });
    await expect(p.read('range.bin')).rejects.toMatchObject({ kind: 'rate_limited', temporary: true });
    proxy.addFault({ match: { op: 'GetObject' }, action: azureError(500, 'InternalError', 'The server encountered an internal error.') });
    await expect(p.read('range.bin')).rejects.toMatchObject({ kind: 'unexpected', temporary: true });
    expect((await readAll(p, 'range.bin')).toString()).toBe('abcdefghij');
  });

  it('writes (buffer with Content-MD5, streams of known and unknown size) and deletes', async () => {
    await p.write('out/small.txt', Buffer.from('hello'), { contentType: 'text/plain' });
    const props = await az.service.getContainerClient(bucket).getBlobClient('out/small.txt').getProperties();
    expect(props.contentType).toBe('text/plain');
    expect(Buffer.from(props.contentMD5!).toString('hex')).toBe(createHash('md5').update('hello').digest('hex'));
    expect((await readAll(p, 'out/small.txt')).toString()).toBe('hello');

    const data = Buffer.alloc(3 * 1024 * 1024 + 5);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    proxy.resetCounts();
    await p.write('out/known.bin', Readable.from([data.subarray(0, 1000), data.subarray(1000)]), { size: data.length, contentType: 'application/octet-stream' });
    expect(proxy.counts.PutObject).toBe(1); // one Put Blob, streamed
    expect((await readAll(p, 'out/known.bin')).equals(data)).toBe(true);

    const large = Buffer.concat([data, data, data]); // > 8 MiB: several blocks and a commit
    proxy.resetCounts();
    await p.write('out/unknown.bin', Readable.from([large.subarray(0, 5_000_000), large.subarray(5_000_000)]));
    expect(proxy.counts.PutObject).toBeGreaterThan(1);
    expect((await readAll(p, 'out/unknown.bin')).equals(large)).toBe(true);

    for (const k of ['out/small.txt', 'out/known.bin', 'out/unknown.bin']) {
      await p.delete(k);
      await expect(p.stat(k)).rejects.toMatchObject({ kind: 'not_found' });
    }
    await expect(p.delete('out/small.txt')).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('reports Archive-tier blobs as storage_class Archive, and reading one says it needs restore', async () => {
    const c = await newContainer({ 'cold.bin': 'frozen' });
    await az.service.getContainerClient(c).getBlobClient('cold.bin').setAccessTier('Archive');
    const hp = await withKey(c);
    expect((await hp.list({ prefix: '' })).objects[0]).toMatchObject({ key: 'cold.bin', storage_class: 'Archive' });
    expect(await hp.stat('cold.bin')).toMatchObject({ storage_class: 'Archive' });
    const err = await hp.read('cold.bin').catch((e) => e);
    expect(err).toMatchObject({ kind: 'unsupported', temporary: false });
    expect(err.message).toMatch(/^needs restore/);
    expect(err.fix).toMatch(/rehydrate/i);
    // The read check reads properties only when every blob is archived.
    const checks = await hp.check({ write: false, exportBasePath: '' });
    expect(statuses(checks)).toEqual(['auth:passed', 'list:passed', 'read:passed']);
    expect(checks[2]!.detail).toMatch(/Archive/);
    hp.close();
  });

  it('does not follow redirects', async () => {
    let trapped = 0;
    const trap = net.createServer((s) => {
      trapped++;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
    const to = `http://127.0.0.1:${(trap.address() as net.AddressInfo).port}/devstoreaccount1/${bucket}?comp=list&restype=container`;
    proxy.addFault({ match: {}, times: 5, action: { type: 'status', status: 307, body: '', headers: { location: to, 'content-type': 'text/plain' } } });
    try {
      const err = await p.list({ prefix: '' }).catch((e) => e);
      expect(err).toMatchObject({ kind: 'unexpected', field: 'endpoint' });
      expect(err.message).toMatch(/redirect/);
      expect(trapped).toBe(0);
    } finally {
      proxy.clearFaults();
      trap.close();
    }
  });

  it('an unreachable endpoint is a temporary config_invalid error on endpoint and fails the auth check', async () => {
    const port = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = s.address() as net.AddressInfo;
        s.close(() => r(free));
      });
    });
    const down = await open({ container: bucket, endpoint: `http://127.0.0.1:${port}/devstoreaccount1` }, { type: 'account_key', account_key: az.accountKey });
    await expect(down.list({ prefix: '' })).rejects.toMatchObject({ kind: 'config_invalid', temporary: true, field: 'endpoint' });
    const checks = await down.check({ write: true, exportBasePath: 'x/' });
    expect(statuses(checks)).toEqual(['auth:failed', 'list:skipped', 'read:skipped', 'write:skipped']);
    expect(checks[1]!.detail).toMatch(/auth failed/);
    down.close();
  });
});

describe('azure_blob credentials and check()', () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await newContainer({ 'a.txt': 'some bytes', 'dir/b.txt': 'b' });
  });

  it('passes every check with the account key, writing and deleting a probe under the export path', async () => {
    const p = await withKey(bucket);
    proxy.resetCounts();
    const checks = await p.check({ write: true, exportBasePath: 'exports/cp/' });
    expect(statuses(checks)).toEqual(['auth:passed', 'list:passed', 'read:passed', 'write:passed']);
    expect(checks[2]!.detail).toMatch(/properties and first \d+ bytes/);
    expect((await p.list({ prefix: 'exports/' })).objects).toEqual([]);
    expect(proxy.counts).toMatchObject({ PutObject: 1, DeleteObject: 1, HeadObject: 1, GetObject: 1 });
    const noWrite = await p.check({ write: false, exportBasePath: '', writeSkippedReason: 'skipped: server is in read-only mode' });
    expect(statuses(noWrite)).toEqual(['auth:passed', 'list:passed', 'read:passed', 'write:skipped']);
    expect(noWrite[3]!.detail).toBe('skipped: server is in read-only mode');
    expect(statuses(await p.check({ write: false, exportBasePath: '' }))).toEqual(['auth:passed', 'list:passed', 'read:passed']);
    const empty = await withKey(await newContainer());
    expect(statuses(await empty.check({ write: false, exportBasePath: '' }))).toEqual(['auth:passed', 'list:passed', 'read:skipped']);
    empty.close();
    p.close();
  });

  it('a connection string reaches the account through its BlobEndpoint (here the proxy); an explicit endpoint wins', async () => {
    const cs = `DefaultEndpointsProtocol=http;AccountName=${az.accountName};AccountKey=${az.accountKey};BlobEndpoint=${endpoint()};`;
    proxy.resetCounts();
    const viaCs = await open({ container: bucket }, { type: 'connection_string', connection_string: cs });
    expect((await viaCs.list({ prefix: '' })).objects.map((o) => o.key)).toEqual(['a.txt', 'dir/b.txt']);
    expect(proxy.counts.ListObjects).toBe(1);
    viaCs.close();
    // The stock azurite connection string points past the proxy; the connector's endpoint routes through it.
    const routed = await open({ container: bucket, endpoint: endpoint() }, { type: 'connection_string', connection_string: az.connectionString });
    expect(statuses(await routed.check({ write: false, exportBasePath: '' }))).toEqual(['auth:passed', 'list:passed', 'read:passed']);
    expect(proxy.counts.ListObjects).toBe(2);
    routed.close();
  });

  it('a wrong account key fails auth (azurite and Azure answers), never echoing the key', async () => {
    const wrongKey = Buffer.from('not-the-account-key-at-all-0123456789').toString('base64');
    const p = await open({ container: bucket, endpoint: endpoint() }, { type: 'account_key', account_key: wrongKey });
    // azurite itself: 403 AuthorizationFailure "Server failed to authenticate the request".
    const err = await p.list({ prefix: '' }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'permission_denied', field: 'credentials', temporary: false });
    expect(JSON.stringify({ m: err.message, f: err.fix })).not.toContain(wrongKey);
    let checks = await p.check({ write: true, exportBasePath: '' });
    expect(statuses(checks)).toEqual(['auth:failed', 'list:skipped', 'read:skipped', 'write:skipped']);
    expect(checks[0]).toMatchObject({ kind: 'permission_denied' });
    expect(checks[0]!.fix).toMatch(/account key/);
    // Azure itself: 403 AuthenticationFailed.
    proxy.addFault({ match: {}, times: 5, action: azureError(403, 'AuthenticationFailed', 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.') });
    checks = await p.check({ write: false, exportBasePath: '' });
    proxy.clearFaults();
    expect(statuses(checks)).toEqual(['auth:failed', 'list:skipped', 'read:skipped']);
    p.close();
  });

  it('a SAS without the list right fails the list check, naming the right', async () => {
    const p = await open({ container: bucket, endpoint: endpoint() }, { type: 'sas', sas_token: sas(bucket, 'r') });
    const checks = await p.check({ write: false, exportBasePath: '' });
    expect(statuses(checks)).toEqual(['auth:passed', 'list:failed', 'read:skipped']);
    expect(checks[1]).toMatchObject({ kind: 'permission_denied' });
    expect(checks[1]!.detail).toMatch(/SAS lacks the list right \("l"\).*sp=r/);
    expect(checks[1]!.fix).toContain('list right');
    expect(checks[2]!.detail).toMatch(/listing failed/);
    // The blob itself is still readable with r.
    expect((await readAll(p, 'a.txt')).toString()).toBe('some bytes');
    p.close();
  });

  it('a SAS without the read right fails the read check, naming the right (also on an empty container, from its sp)', async () => {
    const p = await open({ container: bucket, endpoint: endpoint() }, { type: 'sas', sas_token: sas(bucket, 'l') });
    const checks = await p.check({ write: false, exportBasePath: '' });
    expect(statuses(checks)).toEqual(['auth:passed', 'list:passed', 'read:failed']);
    expect(checks[2]).toMatchObject({ kind: 'permission_denied' });
    expect(checks[2]!.detail).toMatch(/SAS lacks the read right \("r"\)/);
    expect(checks[2]!.fix).toContain('read right');
    await expect(p.read('a.txt')).rejects.toMatchObject({ kind: 'permission_denied' });
    p.close();
    const empty = await newContainer();
    const e = await open({ container: empty, endpoint: endpoint() }, { type: 'sas', sas_token: sas(empty, 'l') });
    const ec = await e.check({ write: false, exportBasePath: '' });
    expect(statuses(ec)).toEqual(['auth:passed', 'list:passed', 'read:failed']);
    expect(ec[2]!.fix).toContain('read right');
    e.close();
  });

  it('a SAS without write or delete fails the write check naming the right', async () => {
    const ro = await open({ container: bucket, endpoint: endpoint() }, { type: 'sas', sas_token: sas(bucket, 'rl') });
    let checks = await ro.check({ write: true, exportBasePath: 'exports/' });
    expect(statuses(checks)).toEqual(['auth:passed', 'list:passed', 'read:passed', 'write:failed']);
    expect(checks[3]).toMatchObject({ kind: 'permission_denied' });
    expect(checks[3]!.fix).toContain('write right');
    ro.close();
    const noDelete = await open({ container: bucket, endpoint: endpoint() }, { type: 'sas', sas_token: sas(bucket, 'rlcw') });
    checks = await noDelete.check({ write: true, exportBasePath: 'exports/' });
    expect(statuses(checks)).toEqual(['auth:passed', 'list:passed', 'read:passed', 'write:failed']);
    expect(checks[3]!.detail).toMatch(/could not delete/);
    expect(checks[3]!.fix).toContain('delete right');
    noDelete.close();
    const full = await withKey(bucket);
    for (const o of (await full.list({ prefix: 'exports/' })).objects) await full.delete(o.key);
    full.close();
  });

  it('a SAS URL works through another host (SAS signatures do not cover the host) and must match the container', async () => {
    // Issued for azurite's own address, used through the proxy's: the signature covers account,
    // container, rights and times, not the host.
    const direct = `${az.endpoint}/${bucket}?${sas(bucket, 'rl')}`;
    const viaProxy = direct.replace(`127.0.0.1:${az.port}`, `127.0.0.1:${proxy.port}`);
    proxy.resetCounts();
    const p = await open({ container: bucket }, { type: 'sas', sas_url: viaProxy });
    expect(statuses(await p.check({ write: false, exportBasePath: '' }))).toEqual(['auth:passed', 'list:passed', 'read:passed']);
    expect(proxy.counts.ListObjects).toBe(1);
    p.close();
    // An account-level SAS URL (no container in its path) with the container from the location.
    const account = await open({ container: bucket }, { type: 'sas', sas_url: `${endpoint()}?${sas(bucket, 'rl')}` });
    expect((await account.list({ prefix: 'dir/' })).objects.map((o) => o.key)).toEqual(['dir/b.txt']);
    account.close();
    await expect(open({ container: 'other-container' }, { type: 'sas', sas_url: viaProxy })).rejects.toMatchObject({ kind: 'config_invalid', field: 'container' });
  });

  it('an expired SAS fails auth, saying it expired, without its signature', async () => {
    const token = sas(bucket, 'rl', { startsOn: new Date(Date.now() - 7200_000), expiresOn: new Date(Date.now() - 3600_000) });
    const p = await open({ container: bucket, endpoint: endpoint() }, { type: 'sas', sas_token: token });
    const checks = await p.check({ write: false, exportBasePath: '' });
    expect(statuses(checks)).toEqual(['auth:failed', 'list:skipped', 'read:skipped']);
    expect(checks[0]!.detail).toMatch(/SAS expired/);
    expect(JSON.stringify(checks)).not.toContain(new URLSearchParams(token).get('sig')!);
    p.close();
  });

  it('a 403 AuthorizationPermissionMismatch (role without the right) is permission_denied with the role to grant', async () => {
    const p = await withKey(bucket);
    proxy.addFault({ match: { op: 'GetObject' }, action: azureError(403, 'AuthorizationPermissionMismatch', 'This request is not authorized to perform this operation using this permission.') });
    const err = await p.read('a.txt').catch((e) => e);
    expect(err).toMatchObject({ kind: 'permission_denied' });
    expect(err.fix).toMatch(/read right.*Storage Blob Data Reader/);
    p.close();
  });
});
