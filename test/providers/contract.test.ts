import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProvider } from '../../src/providers/index.js';
import { isObjectExists } from '../../src/shared/errors.js';
import type { StorageProvider } from '../../src/providers/types.js';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { bytes, sha256, uniqueName } from '../helpers/s3env.js';
import type { ProviderFixture } from './fixture.js';
import { s3Fixture } from './s3.fixture.js';
import { gcsFixture } from './gcs.fixture.js';
import { azureFixture } from './azure-blob.fixture.js';
import { driveFixture } from './google-drive.fixture.js';
import { listAllPages } from './paging.js';

/**
 * The provider contract: the same cases against every provider's loopback server, at two levels:
 * the StorageProvider interface itself, and end to end through the built server over stdio.
 */
const fixtures: [string, () => ProviderFixture][] = [
  ['s3', s3Fixture],
  ['gcs', gcsFixture],
  ['azure_blob', azureFixture],
  ['google_drive', driveFixture],
];

async function readAll(p: StorageProvider, key: string, offset = 0): Promise<Buffer> {
  const r = await p.read(key, { offset });
  const chunks: Buffer[] = [];
  for await (const c of r.body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

describe.each(fixtures)('provider contract: %s', (_name, make) => {
  const fx = make();
  let cp: Running;
  let bucket: string;
  let provider: StorageProvider;

  const open = async (input: Record<string, unknown>) => {
    const def = getProvider(String(input.provider));
    const loc = def.validateLocation({ ...input });
    return def.open(loc, input.credentials as never, { maxSockets: 8, connectTimeoutMs: 5000 });
  };

  beforeAll(async () => {
    await fx.start();
    bucket = await fx.createBucket();
    for (let i = 0; i < 7; i++) await fx.put(bucket, `page/k${i}.txt`, `v${i}`, 'text/plain');
    await fx.put(bucket, 'tree/a.mp4', 'a');
    await fx.put(bucket, 'tree/b.txt', 'b');
    await fx.put(bucket, 'tree/sub/c.mp4', 'c');
    provider = await open(fx.connectorInput(bucket));
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_IDLE_TIMEOUT_MS: '1000' } });
  });
  afterAll(async () => {
    provider?.close();
    await cp?.close();
    await fx.stop();
  });

  it('lists across pages with continuation tokens, each key once', async () => {
    const { seen, pages } = await listAllPages(provider, 'page/', 2);
    expect(pages).toBe(4);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `page/k${i}.txt`));
    const one = (await provider.list({ prefix: 'page/k3' })).objects[0]!;
    expect(one).toMatchObject({ key: 'page/k3.txt', size: 2 });
    expect(one.version).toBeTruthy();
  });

  it('lists folders with a delimiter', async () => {
    const page = await provider.list({ prefix: 'tree/', delimiter: '/' });
    expect(page.objects.map((o) => o.key)).toEqual(['tree/a.mp4', 'tree/b.txt']);
    expect(page.folders).toEqual(['tree/sub/']);
  });

  it('stores, lists and reads hostile keys byte-exact', async () => {
    const b = await fx.createBucket();
    for (const [i, k] of fx.hostileKeys.entries()) await fx.put(b, k, `content ${i}`);
    const p = await open(fx.connectorInput(b));
    const listed = (await p.list({ prefix: '', maxKeys: 1000 })).objects.map((o) => o.key);
    expect([...listed].sort()).toEqual([...fx.hostileKeys].sort());
    for (const [i, k] of fx.hostileKeys.entries()) expect((await readAll(p, k)).toString()).toBe(`content ${i}`);
    p.close();
  });

  it('reads a range, and a read pinned to a version that changed is a conflict', async () => {
    await fx.put(bucket, 'range.bin', 'abcdefghij');
    expect((await readAll(provider, 'range.bin', 4)).toString()).toBe('efghij');
    const r = await provider.read('range.bin', { offset: 3 });
    expect(r).toMatchObject({ length: 7, size: 10 });
    r.body.destroy();
    const v = (await provider.stat('range.bin')).version;
    await fx.put(bucket, 'range.bin', 'changed!!!');
    await expect(provider.read('range.bin', { offset: 2, ifVersion: v })).rejects.toMatchObject({ kind: 'conflict', temporary: true });
  });

  it('names a missing bucket and a missing object as not_found', async () => {
    const p = await open(fx.connectorInput(fx.missingBucket()));
    const err = await p.list({ prefix: '' }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'not_found' });
    expect(['bucket', 'container', 'root_folder_id']).toContain(err.field);
    p.close();
    await expect(provider.stat('no/such/key')).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('maps throttling to rate_limited (temporary) and writes and deletes', async () => {
    fx.addFault({ op: 'list', action: { type: 'throttle', retryAfterSeconds: 1 } });
    await expect(provider.list({ prefix: '' })).rejects.toMatchObject({ kind: 'rate_limited', temporary: true, retryAfter: 1 });
    fx.clearFaults();
    await provider.write('out/probe.txt', Buffer.from('hello'), { contentType: 'text/plain' });
    expect((await readAll(provider, 'out/probe.txt')).toString()).toBe('hello');
    await provider.delete('out/probe.txt');
    await expect(provider.stat('out/probe.txt')).rejects.toMatchObject({ kind: 'not_found' });
  });

  // fauxqs ignores If-None-Match on PUT, so S3's refusal of a create-only write cannot be produced on
  // loopback (test/e2e/export-create-only-race.test.ts runs on gcs and azure_blob for the same reason).
  it.skipIf(fx.provider === 's3')('a create-only write onto an existing object throws the one "already exists" error and keeps the object', async () => {
    await fx.put(bucket, 'out/kept.txt', 'first');
    const err = await provider.write('out/kept.txt', Buffer.from('second'), { contentType: 'text/plain', ifAbsent: true }).then(() => null, (e: unknown) => e);
    expect(isObjectExists(err), String(err)).toBe(true);
    expect(err).toMatchObject({ kind: 'conflict', temporary: false });
    expect((await readAll(provider, 'out/kept.txt')).toString()).toBe('first');
  });

  it('reports the whole object\'s checksums on full and ranged reads', async () => {
    const body = bytes(70_000, 5);
    await fx.put(bucket, 'sums/obj.bin', body);
    const md5 = createHash('md5').update(body).digest('base64');
    const full = await provider.read('sums/obj.bin');
    full.body.destroy();
    expect(full.checksums?.md5).toBe(md5);
    const ranged = await provider.read('sums/obj.bin', { offset: 1000 });
    ranged.body.destroy();
    expect(ranged.checksums?.md5).toBe(md5);
  });

  // ---- end to end through the built server over stdio ----

  it('create → test → browse (glob, folders) → import → status over stdio', async () => {
    const { connector } = await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) });
    expect(connector.provider).toBe(fx.provider);
    const t = await cp.ok('test_connector', { connector_id: connector.id });
    expect(t.checks.map((c: { name: string; status: string }) => `${c.name}:${c.status}`)).toEqual(['auth:passed', 'list:passed', 'read:passed']);
    const shown = (await cp.ok('get_connector', { connector_id: connector.id })).connector;
    expect(JSON.stringify(shown)).not.toMatch(/AccountKey|sig=|private_key|wJalr/);
    const b = await cp.ok('browse_connector', { connector_id: connector.id, pattern: 'tree/**/*.mp4' });
    expect(b.objects.map((o: { key: string }) => o.key)).toEqual(['tree/a.mp4', 'tree/sub/c.mp4']);
    const f = await cp.ok('browse_connector', { connector_id: connector.id, prefix: 'tree/', folders: true });
    expect(f.folders).toEqual(['tree/sub/']);
    const j = await cp.ok('start_import', { connector_id: connector.id, index: `c-${fx.provider}`, prefix: 'tree/' });
    const s = await waitForJob(cp, j.job_id);
    expect(s).toMatchObject({ status: 'completed', counts: { ready: 3 } });
  });

  it('an empty bucket browses with a hint, and an import from it answers not_found (no silent empty job)', async () => {
    const empty = await fx.createBucket();
    const { connector } = await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(empty) });
    const t = await cp.ok('test_connector', { connector_id: connector.id });
    expect(t.checks.find((c: { name: string }) => c.name === 'read').status).toBe('skipped');
    const b = await cp.ok('browse_connector', { connector_id: connector.id });
    expect(b.objects).toEqual([]);
    // Drive says more: which folder (or the service account's own My Drive) holds nothing, and root_folder_id.
    const emptyHint = fx.provider === 'google_drive' ? expect.stringMatching(/(holds no files|is empty: share a folder).*\.$/) : "The connector's bucket holds no objects.";
    expect(b.hint).toEqual(fx.provider === 'google_drive' ? expect.stringMatching(/holds no files|is empty: share a folder/) : expect.stringContaining("The connector's bucket holds no objects."));
    const before = (await cp.ok('list_imports', { connector_id: connector.id })).imports.length;
    const j = await cp.call('start_import', { connector_id: connector.id, index: 'empty' });
    expect(j.data.error).toMatchObject({ kind: 'not_found', field: fx.provider === 'google_drive' ? 'root_folder_id' : 'connector_id', fix: emptyHint });
    expect((await cp.ok('list_imports', { connector_id: connector.id })).imports.length).toBe(before);
  });

  it('a missing bucket, bad credentials, and a missing permission are refused with fixes', async () => {
    let r = await cp.call('create_connector', { name: uniqueName(), ...fx.connectorInput(fx.missingBucket()) });
    expect(r.data.error.kind).toBe('not_found');
    fx.addFault({ op: 'any', times: 20, action: { type: 'bad_credentials' } });
    r = await cp.call('create_connector', { name: uniqueName(), ...fx.badCredentialsInput(bucket) });
    fx.clearFaults();
    expect(r.data.error.kind).toBe('permission_denied');
    expect(r.data.checks[0]).toMatchObject({ name: 'auth', status: 'failed' });
    for (const perm of ['list', 'read'] as const) {
      const b = await fx.createBucket();
      await fx.put(b, 'x.txt', 'x');
      r = await cp.call('create_connector', { name: uniqueName(), ...(await fx.withoutPermission(b, perm)) });
      fx.clearFaults();
      expect(r.data.error.kind, perm).toBe('permission_denied');
      const check = r.data.checks.find((c: { name: string }) => c.name === perm);
      expect(check.status, perm).toBe('failed');
      expect(check.fix, perm).toContain(fx.permissionName(perm));
    }
  });

  it('imports through a throttled request and a cut body (resumed), byte-exact; dedupes; new_only makes no GET', async () => {
    const b = await fx.createBucket();
    const big = bytes(1024 * 1024 + 3, 9);
    await fx.put(b, 'data/big.bin', big);
    await fx.put(b, 'data/one.txt', 'same');
    await fx.put(b, 'data/two.txt', 'same');
    const { connector } = await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(b) });
    fx.resetCounts();
    fx.addFault({ op: 'get', keyIncludes: 'one.txt', action: { type: 'throttle', retryAfterSeconds: 0 } });
    fx.addFault({ op: 'get', keyIncludes: 'big.bin', action: { type: 'cut', afterBytes: 300_000 } });
    const j = await cp.ok('start_import', { connector_id: connector.id, index: `faults-${fx.provider}` });
    const s = await waitForJob(cp, j.job_id);
    fx.clearFaults();
    expect(s).toMatchObject({ status: 'completed', counts: { ready: 2, deduped: 1, failed: 0 } });
    const items = (await cp.ok('list_index_items', { index: `faults-${fx.provider}` })).items;
    expect(items.find((i: { key: string }) => i.key === 'data/big.bin').sha256).toBe(sha256(big));
    fx.resetCounts();
    const again = await cp.ok('start_import', { connector_id: connector.id, index: `faults-${fx.provider}`, import_mode: 'new_only' });
    expect(again).toMatchObject({ accepted: 0, skipped: 3 });
    await waitForJob(cp, again.job_id);
    expect(fx.counts().get).toBe(0);
  });

  it('a flipped byte (length right) is caught by the checksum and re-read, also across a resume; persistent corruption fails and is never indexed', async () => {
    const b = await fx.createBucket();
    const small = bytes(64 * 1024, 21);
    const big = bytes(1024 * 1024 + 5, 22);
    const bad = bytes(10_000, 23);
    await fx.put(b, 'sum/small.bin', small);
    await fx.put(b, 'sum/big.bin', big);
    await fx.put(b, 'sum/bad.bin', bad);
    const { connector } = await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(b) });
    fx.resetCounts();
    fx.addFault({ op: 'get', keyIncludes: 'small.bin', action: { type: 'flip', at: 100 } });
    // Cut, then a resumed (ranged) answer with a flipped byte: only the whole-object checksum sees it.
    fx.addFault({ op: 'get', keyIncludes: 'big.bin', action: { type: 'cut', afterBytes: 300_000 } });
    fx.addFault({ op: 'get', keyIncludes: 'big.bin', action: { type: 'flip', at: 10 } });
    fx.addFault({ op: 'get', keyIncludes: 'bad.bin', times: 100, action: { type: 'flip', at: 0 } });
    const index = `sums-${fx.provider}`;
    const j = await cp.ok('start_import', { connector_id: connector.id, index });
    const s = await waitForJob(cp, j.job_id);
    fx.clearFaults();
    expect(s).toMatchObject({ status: 'completed_with_errors', counts: { ready: 2, failed: 1 } });
    const failed = await cp.ok('import_status', { job_id: j.job_id, files_status: 'failed' });
    expect(failed.files).toEqual([{ key: 'sum/bad.bin', status: 'failed', size: bad.length, error: expect.stringMatching(/^checksum mismatch: object "sum\/bad.bin"/) }]);
    const items = (await cp.ok('list_index_items', { index })).items;
    expect(items.map((i: { key: string }) => i.key).sort()).toEqual(['sum/big.bin', 'sum/small.bin']);
    expect(items.find((i: { key: string }) => i.key === 'sum/small.bin').sha256).toBe(sha256(small));
    expect(items.find((i: { key: string }) => i.key === 'sum/big.bin').sha256).toBe(sha256(big));
    // small: flipped + good; big: cut + resumed-flipped + good from byte 0; bad: every attempt (5).
    expect(fx.counts().get).toBe(2 + 3 + 5);
  });

  it('an object overwritten between a cut and its resume is read again whole: the new version, never a mix', async () => {
    const b = await fx.createBucket();
    const v1 = bytes(600 * 1024, 31);
    const v2 = bytes(700 * 1024 + 1, 32);
    await fx.put(b, 'ow/obj.bin', v1);
    const { connector } = await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(b) });
    fx.resetCounts();
    fx.addFault({ op: 'get', keyIncludes: 'ow/obj.bin', action: { type: 'cut', afterBytes: 200_000 } });
    fx.addFault({ op: 'get', keyIncludes: 'ow/obj.bin', action: { type: 'before', run: () => fx.put(b, 'ow/obj.bin', v2) } });
    const index = `overwrite-${fx.provider}`;
    const j = await cp.ok('start_import', { connector_id: connector.id, index });
    const s = await waitForJob(cp, j.job_id);
    fx.clearFaults();
    expect(s).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    const item = (await cp.ok('list_index_items', { index })).items[0];
    expect(item).toMatchObject({ key: 'ow/obj.bin', size: v2.length, sha256: sha256(v2) });
    // cut (v1) → resume pinned to v1 refused (412) → whole new read of v2.
    expect(fx.counts().get).toBe(3);
  });

  it('throttling slows a job down without failing it, 500s are retried, denials and bad credentials fail at once (one GET each)', async () => {
    const b = await fx.createBucket();
    for (const k of ['thr/a.txt', 'err/b.txt', 'deny/c.txt', 'cred/d.txt', 'ok/e.txt']) await fx.put(b, k, `content of ${k}`);
    const { connector } = await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(b) });
    fx.resetCounts();
    // More throttled answers in a row than the retry budget of other errors (5 attempts).
    fx.addFault({ op: 'get', keyIncludes: 'thr/', times: 5, action: { type: 'throttle', retryAfterSeconds: 0 } });
    fx.addFault({ op: 'get', keyIncludes: 'err/', times: 2, action: { type: 'server_error' } });
    fx.addFault({ op: 'get', keyIncludes: 'deny/', times: 100, action: { type: 'deny' } });
    fx.addFault({ op: 'get', keyIncludes: 'cred/', times: 100, action: { type: 'bad_credentials' } });
    const j = await cp.ok('start_import', { connector_id: connector.id, index: `retries-${fx.provider}` });
    const s = await waitForJob(cp, j.job_id);
    fx.clearFaults();
    expect(s).toMatchObject({ status: 'completed_with_errors', counts: { ready: 3, failed: 2 } });
    const failed = (await cp.ok('import_status', { job_id: j.job_id, files_status: 'failed' })).files;
    expect(failed.map((f: { key: string }) => f.key).sort()).toEqual(['cred/d.txt', 'deny/c.txt']);
    for (const f of failed) expect(f.error).toMatch(/denied|credential|signature|authenticat|key/i);
    expect(fx.counts().get).toBe(6 + 3 + 1 + 1 + 1);
  });
});
