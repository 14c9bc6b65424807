import { createHash } from 'node:crypto';
import http from 'node:http';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProvider } from '../../src/providers/index.js';
import type { StorageProvider } from '../../src/providers/types.js';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { bytes, sha256, startS3Env, uniqueName } from '../helpers/s3env.js';
import type { ProviderFixture } from '../providers/fixture.js';
import { s3Fixture } from '../providers/s3.fixture.js';
import { gcsFixture } from '../providers/gcs.fixture.js';
import { azureFixture } from '../providers/azure-blob.fixture.js';

/**
 * Exports end to end through the built server over stdio, against every provider's loopback
 * server: import from one bucket, export the index to another, read the objects back through the
 * provider interface and compare bytes, content types and the SHA-256 kept in their metadata.
 */
const fixtures: [string, () => ProviderFixture][] = [
  ['s3', s3Fixture],
  ['gcs', gcsFixture],
  ['azure_blob', azureFixture],
];

/** Over 8 MiB: sent as multipart (S3), resumable chunks (GCS) or blocks (Azure). */
const BIG = 12 * 1024 * 1024 + 17;

async function readAll(p: StorageProvider, key: string): Promise<{ data: Buffer; contentType?: string }> {
  const r = await p.read(key);
  const chunks: Buffer[] = [];
  for await (const c of r.body as AsyncIterable<Buffer>) chunks.push(c);
  return { data: Buffer.concat(chunks), contentType: r.content_type };
}

async function allKeys(p: StorageProvider): Promise<string[]> {
  const out: string[] = [];
  let token: string | null = null;
  do {
    const page = await p.list({ prefix: '', token });
    out.push(...page.objects.map((o) => o.key));
    token = page.nextToken;
  } while (token);
  return out.sort();
}

describe.each(fixtures)('exports: %s', (_name, make) => {
  const fx = make();
  let cp: Running;
  let dataDir: string;
  let serverEnv: Record<string, string>;
  let dst: StorageProvider;
  let srcConn: string;
  let dstConn: string;
  const files: Record<string, { body: Buffer; type: string }> = {
    'docs/a.txt': { body: Buffer.from('hello a\n'), type: 'text/plain' },
    'docs/b.json': { body: Buffer.from('{"b":1}'), type: 'application/json' },
    'docs/sub/c.bin': { body: bytes(3000, 3), type: 'application/octet-stream' },
    'big.bin': { body: bytes(BIG, 9), type: 'application/x-big' },
  };
  // A key that would leave export_base_path once a URL parser resolves it (every provider stores it as is).
  const escapes = ['q/%2e%2e/%2e%2e/evil.txt'];
  const exportable = Object.keys(files);

  const open = (input: Record<string, unknown>) => {
    const def = getProvider(String(input.provider));
    return def.open(def.validateLocation({ ...input }), input.credentials as never, { maxSockets: 8, connectTimeoutMs: 5000 });
  };
  const exportJob = async (args: Record<string, unknown>) => {
    const r = await cp.ok('start_export', { index: 'src', connector_id: dstConn, ...args });
    return { start: r, final: await waitForJob(cp, r.job_id) };
  };

  beforeAll(async () => {
    await fx.start();
    const src = await fx.createBucket();
    const dstBucket = await fx.createBucket();
    if (fx.hostileKeys.includes('../../etc/passwd')) escapes.push('../../etc/passwd');
    for (const [k, f] of Object.entries(files)) await fx.put(src, k, f.body, f.type);
    for (const k of escapes) await fx.put(src, k, `escape ${k}`, 'text/plain');
    dst = await open(fx.connectorInput(dstBucket));
    // EXPORTS_TEST_DATABASE_URL=postgres://…?schema=name runs the same cases on the PostgreSQL store (schema name_<provider>).
    const pg = process.env.EXPORTS_TEST_DATABASE_URL;
    dataDir = tempDir();
    serverEnv = pg ? { CLOUDPORT_DATABASE_URL: `${pg}_${_name}` } : {};
    cp = await startCloudport({ dataDir, env: serverEnv });
    srcConn = (await cp.ok('create_connector', { name: uniqueName('src'), ...fx.connectorInput(src) })).connector.id;
    dstConn = (await cp.ok('create_connector', { name: uniqueName('dst'), ...fx.connectorInput(dstBucket), scopes: ['import', 'export'], export_base_path: 'out' })).connector.id;
    const imp = await cp.ok('start_import', { connector_id: srcConn, index: 'src' });
    expect((await waitForJob(cp, imp.job_id)).counts).toMatchObject({ ready: exportable.length + escapes.length, failed: 0 });
  });
  afterAll(async () => {
    dst?.close();
    await cp?.close();
    await fx.stop();
  });

  it('refuses a connector without the export scope, an unknown index and bad path templates, before any write', async () => {
    fx.resetCounts();
    expect((await cp.call('start_export', { index: 'src', connector_id: srcConn })).data.error).toMatchObject({ kind: 'permission_denied', field: 'connector_id' });
    expect((await cp.call('start_export', { index: 'nope', connector_id: dstConn })).data.error).toMatchObject({ kind: 'not_found' });
    for (const path_template of ['../{key}', '/abs/{key}', '{index}//{key}', 'a/./{key}', '{key}\u0007', '%2e%2e/{key}', 'x\\{key}', '{nope}', 'fixed.txt', '{key']) {
      const r = await cp.call('start_export', { index: 'src', connector_id: dstConn, path_template });
      expect(r.data.error, path_template).toMatchObject({ kind: 'config_invalid', field: 'path_template' });
    }
    expect(fx.counts().put).toBe(0);
  });

  it('dry_run previews paths and refusals without a job or a write', async () => {
    fx.resetCounts();
    const jobs = (await cp.ok('list_imports', { kind: 'export' })).imports.length;
    const dry = await cp.ok('start_export', { prefix: 'docs/', dry_run: true, index: 'src', connector_id: dstConn });
    expect(dry).toMatchObject({ job_id: null, status: null, accepted: 3, listing_complete: true, failed_files: [] });
    expect(dry.sample).toContainEqual({ key: 'docs/a.txt', path: 'out/docs/a.txt' });
    const byKey = await cp.ok('start_export', { dry_run: true, index: 'src', connector_id: dstConn });
    expect(byKey.accepted).toBe(exportable.length);
    expect(byKey.failed_files.map((f: { key: string }) => f.key).sort()).toEqual([...escapes].sort());
    // Content-addressed names never escape, whatever the keys hold.
    const bySha = await cp.ok('start_export', { dry_run: true, index: 'src', connector_id: dstConn, path_template: '{index}/{sha256}{ext}' });
    expect(bySha).toMatchObject({ accepted: exportable.length + escapes.length, failed_files: [] });
    expect(bySha.sample).toContainEqual({ key: 'docs/a.txt', path: `out/src/${sha256(files['docs/a.txt']!.body)}.txt` });
    // A selection whose every path is refused starts no job: the error says why and how to write them.
    const refused = await cp.call('start_export', { index: 'src', connector_id: dstConn, keys: escapes });
    expect(refused.data.error).toMatchObject({ kind: 'config_invalid', field: 'path_template' });
    expect(refused.text).toMatch(new RegExp(`none of the ${escapes.length} selected item\\(s\\) can be written: `));
    // Keys that name no item are not_found on keys, not a path problem.
    const typo = await cp.call('start_export', { index: 'src', connector_id: dstConn, keys: ['no/such-key.txt'] });
    expect(typo.data.error).toMatchObject({ kind: 'not_found', field: 'keys' });
    expect((await cp.ok('list_imports', { kind: 'export' })).imports.length).toBe(jobs);
    expect(fx.counts().put).toBe(0);
  });

  it('exports every item with its bytes, content type and SHA-256 (in metadata); escaping paths fail per file; a large blob goes up in parts', async () => {
    fx.resetCounts();
    const { start, final } = await exportJob({});
    expect(start.accepted).toBe(exportable.length);
    expect(start.failed_files.map((f: { key: string; error: string }) => [f.key, /refused: .*export_base_path/.test(f.error)]).sort()).toEqual(escapes.map((k) => [k, true]).sort());
    expect(final).toMatchObject({ kind: 'export', status: 'completed_with_errors', counts: { pending: 0, exported: exportable.length, skipped: 0, failed: escapes.length, canceled: 0 } });
    // Everything landed under the base path, nothing else (the write probe of create_connector was deleted).
    expect(await allKeys(dst)).toEqual(exportable.map((k) => `out/${k}`).sort());
    for (const [k, f] of Object.entries(files)) {
      const info = await dst.stat(`out/${k}`);
      expect(info.sha256, k).toBe(sha256(f.body));
      const got = await readAll(dst, `out/${k}`);
      expect(sha256(got.data), k).toBe(sha256(f.body));
      expect(got.contentType, k).toBe(f.type);
    }
    // Several write requests for the big one (parts / chunks / blocks and a commit) besides one per small file.
    expect(fx.counts().put).toBeGreaterThan(exportable.length);
    const exported = await cp.ok('import_status', { job_id: start.job_id, files_status: 'exported' });
    expect(exported.files).toContainEqual({ key: 'docs/a.txt', status: 'exported', size: files['docs/a.txt']!.body.length, path: 'out/docs/a.txt' });
    expect((await cp.call('start_import', { retry_of: start.job_id })).data.error).toMatchObject({ kind: 'config_invalid', field: 'retry_of' });
    const failed = await cp.ok('import_status', { job_id: start.job_id, files_status: 'failed' });
    expect(failed.files.map((f: { key: string }) => f.key).sort()).toEqual([...escapes].sort());
    const logs = await cp.ok('import_logs', { job_id: start.job_id });
    expect(logs.entries[0].message).toMatch(/^export started/);
    expect(logs.entries[logs.entries.length - 1].message).toMatch(/^export completed_with_errors: 4 exported/);
    // Imported back from the destination: the same content.
    const back = await cp.ok('start_import', { connector_id: dstConn, index: 'back', prefix: 'out/' });
    await waitForJob(cp, back.job_id);
    const items = (await cp.ok('list_index_items', { index: 'back' })).items;
    expect(Object.fromEntries(items.map((i: { key: string; sha256: string }) => [i.key, i.sha256]))).toEqual(Object.fromEntries(exportable.map((k) => [`out/${k}`, sha256(files[k]!.body)])));
  });

  it('a large blob alone goes up in several requests, a small one in one', async () => {
    fx.resetCounts();
    const small = await exportJob({ keys: ['docs/a.txt'], path_template: 'single/{key}' });
    expect(small.final.counts.exported).toBe(1);
    expect(fx.counts().put).toBe(1);
    fx.resetCounts();
    const big = await exportJob({ keys: ['big.bin'], path_template: 'parts/{name}' });
    expect(big.final.counts.exported).toBe(1);
    expect(fx.counts().put).toBeGreaterThan(1);
    expect(sha256((await readAll(dst, 'out/parts/big.bin')).data)).toBe(sha256(files['big.bin']!.body));
  });

  it('overwrite: never skips existing objects without writing, if_changed compares the stored SHA-256, always rewrites', async () => {
    fx.resetCounts();
    const never = await exportJob({ prefix: 'docs/' });
    expect(never.final).toMatchObject({ status: 'completed', counts: { exported: 0, skipped: 3 } });
    expect(fx.counts().put).toBe(0);
    expect(fx.counts().get).toBe(0);
    // Someone changes one object in the bucket (no sha256 metadata, other bytes).
    await dst.write('out/docs/a.txt', Buffer.from('changed by someone'), { contentType: 'text/plain' });
    fx.resetCounts();
    const changed = await exportJob({ prefix: 'docs/', overwrite: 'if_changed' });
    expect(changed.final).toMatchObject({ status: 'completed', counts: { exported: 1, skipped: 2 } });
    expect(fx.counts().get).toBe(0); // compared through metadata, never downloaded
    expect((await readAll(dst, 'out/docs/a.txt')).data.toString()).toBe('hello a\n');
    const skipped = await cp.ok('import_status', { job_id: changed.start.job_id, files_status: 'skipped' });
    expect(skipped.files.map((f: { key: string }) => f.key).sort()).toEqual(['docs/b.json', 'docs/sub/c.bin']);
    fx.resetCounts();
    const always = await exportJob({ prefix: 'docs/', overwrite: 'always' });
    expect(always.final).toMatchObject({ status: 'completed', counts: { exported: 3, skipped: 0 } });
    expect(fx.counts().head).toBe(0);
  });

  it('idempotency_key returns the same job, or a conflict for other arguments', async () => {
    const a = await cp.ok('start_export', { index: 'src', connector_id: dstConn, prefix: 'docs/', idempotency_key: `exp-${_name}` });
    const b = await cp.ok('start_export', { index: 'src', connector_id: dstConn, prefix: 'docs/', idempotency_key: `exp-${_name}` });
    expect(b).toMatchObject({ job_id: a.job_id, replayed: true });
    const c = await cp.call('start_export', { index: 'src', connector_id: dstConn, prefix: 'big', idempotency_key: `exp-${_name}` });
    expect(c.data.error).toMatchObject({ kind: 'conflict', field: 'idempotency_key' });
    // An import under the same key is another call too.
    const d = await cp.call('start_import', { connector_id: srcConn, index: 'src', idempotency_key: `exp-${_name}` });
    expect(d.data.error).toMatchObject({ kind: 'conflict', field: 'idempotency_key' });
    await waitForJob(cp, a.job_id);
  });

  it('cancel_import cancels an export: pending files become canceled and nothing more is written', async () => {
    fx.addFault({ op: 'put', times: 1000, action: { type: 'throttle', retryAfterSeconds: 30 } });
    fx.resetCounts();
    const r = await cp.ok('start_export', { index: 'src', connector_id: dstConn, prefix: 'docs/', overwrite: 'always', path_template: 'cancel/{key}' });
    // Every file has had its write throttled and waits to retry.
    for (let i = 0; i < 200 && fx.counts().put < 3; i++) await new Promise((res) => setTimeout(res, 50));
    const c = await cp.ok('cancel_import', { job_id: r.job_id });
    expect(c).toMatchObject({ job_id: r.job_id, kind: 'export', status: 'canceled', counts: { exported: 0, canceled: 3 } });
    fx.clearFaults();
    const s = await cp.ok('import_status', { job_id: r.job_id });
    expect(s).toMatchObject({ status: 'canceled', counts: { exported: 0, canceled: 3, pending: 0 } });
    expect((await allKeys(dst)).filter((k) => k.startsWith('out/cancel/'))).toEqual([]);
    const listed = await cp.ok('list_imports', { kind: 'export', status: 'canceled' });
    expect(listed.imports.map((j: { job_id: string }) => j.job_id)).toContain(r.job_id);
    expect(listed.imports.every((j: { kind: string }) => j.kind === 'export')).toBe(true);
    expect((await cp.ok('list_imports', { kind: 'import' })).imports.every((j: { kind: string }) => j.kind === 'import')).toBe(true);
  });

  it('an export survives a restart: the next server finishes it', async () => {
    fx.addFault({ op: 'put', times: 1000, action: { type: 'throttle', retryAfterSeconds: 30 } });
    fx.resetCounts();
    const r = await cp.ok('start_export', { index: 'src', connector_id: dstConn, prefix: 'docs/', path_template: 'restart/{key}' });
    for (let i = 0; i < 200 && fx.counts().put < 3; i++) await new Promise((res) => setTimeout(res, 50));
    await cp.close();
    fx.clearFaults();
    cp = await startCloudport({ dataDir, env: serverEnv });
    expect(await waitForJob(cp, r.job_id)).toMatchObject({ status: 'completed', counts: { exported: 3, failed: 0, pending: 0 } });
    expect((await allKeys(dst)).filter((k) => k.startsWith('out/restart/'))).toEqual(['out/restart/docs/a.txt', 'out/restart/docs/b.json', 'out/restart/docs/sub/c.bin']);
  });
});

describe('export checksums are verified by the service', () => {
  it('a body whose MD5 does not match is refused as damaged (GCS md5Hash, Azure Content-MD5)', async () => {
    for (const make of [gcsFixture, azureFixture]) {
      const fx = make();
      await fx.start();
      try {
        const bucket = await fx.createBucket();
        const input = fx.connectorInput(bucket);
        const def = getProvider(String(input.provider));
        const p = await def.open(def.validateLocation({ ...input }), input.credentials as never, { maxSockets: 4, connectTimeoutMs: 5000 });
        const wrong = createHash('md5').update('other bytes').digest('base64');
        // Refused by the service, as damaged bytes (temporary: the export sends them again).
        await expect(p.write('bad.txt', Buffer.from('hello'), { md5: wrong }), fx.provider).rejects.toMatchObject({ kind: 'unexpected', temporary: true, message: expect.stringMatching(/checksum mismatch/) });
        await expect(p.stat('bad.txt'), fx.provider).rejects.toMatchObject({ kind: 'not_found' });
        await p.write('good.txt', Buffer.from('hello'), { md5: createHash('md5').update('hello').digest('base64'), sha256: sha256('hello') });
        expect((await p.stat('good.txt')).sha256).toBe(sha256('hello'));
        p.close();
      } finally {
        await fx.stop();
      }
    }
  });
});

/**
 * fauxqs keeps whatever it is sent, so this loopback shim in front of it does what S3 does with a
 * checksum header: every request that carries object bytes (PutObject, UploadPart) must have an
 * x-amz-checksum-sha256 (or Content-MD5) that matches them, or it is answered 400 BadDigest (which
 * cloudport treats as bytes damaged on the way: sent again).
 */
describe('S3 exports carry checksums S3 verifies (single PUT and every part)', () => {
  it('sends x-amz-checksum-sha256 matching the bytes of each PUT and part', async () => {
    const env = await startS3Env(['ck-src', 'ck-dst']);
    const seen: { url: string; ok: boolean }[] = [];
    let corruptNext = false;
    const upstream = new URL(env.s3.endpoint);
    const shim = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const url = req.url ?? '';
      const carriesObject = req.method === 'PUT' && !url.includes('x-id=CreateMultipart') && /\/ck-dst\//.test(url);
      if (carriesObject) {
        let payload = body;
        if (corruptNext) {
          // A byte flipped on the way: the checksum no longer matches.
          corruptNext = false;
          payload = Buffer.from(body);
          payload[payload.length >> 1]! ^= 0xff;
        }
        let sent = req.headers['x-amz-checksum-sha256'] as string | undefined;
        if (String(req.headers['content-encoding'] ?? '').includes('aws-chunked') && payload === body) {
          const parts: Buffer[] = [];
          let off = 0;
          for (;;) {
            const eol = body.indexOf('\r\n', off);
            const size = parseInt(body.subarray(off, eol).toString('ascii').split(';')[0]!, 16);
            if (!size) {
              sent ??= /x-amz-checksum-sha256:(\S+)/.exec(body.subarray(eol).toString('ascii'))?.[1];
              break;
            }
            parts.push(body.subarray(eol + 2, eol + 2 + size));
            off = eol + 2 + size + 2;
          }
          payload = Buffer.concat(parts);
        }
        const md5 = req.headers['content-md5'] as string | undefined;
        const ok = sent ? createHash('sha256').update(payload).digest('base64') === sent : !!md5 && createHash('md5').update(payload).digest('base64') === md5;
        seen.push({ url, ok });
        if (!ok) {
          res.writeHead(400, { 'content-type': 'application/xml' });
          return res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>BadDigest</Code><Message>The checksum you specified did not match what we received.</Message></Error>');
        }
      }
      const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 500, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      up.end(body);
    });
    await new Promise<void>((r) => shim.listen(0, '127.0.0.1', () => r()));
    const shimUrl = `http://127.0.0.1:${(shim.address() as { port: number }).port}`;
    const cp = await startCloudport({ dataDir: tempDir() });
    try {
      await env.s3.put('ck-src', 'small.txt', 'small body', { contentType: 'text/plain' });
      await env.s3.put('ck-src', 'big.bin', bytes(BIG, 5));
      const src = (await cp.ok('create_connector', env.connector('ck-src'))).connector.id;
      const dstConn = (await cp.ok('create_connector', { ...env.connector('ck-dst'), endpoint: shimUrl, scopes: ['export'], export_base_path: 'x/' })).connector.id;
      await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'ck' })).job_id);
      expect(seen.length).toBe(1); // the write probe of create_connector, with Content-MD5
      seen.length = 0;
      const job = await cp.ok('start_export', { index: 'ck', connector_id: dstConn });
      expect((await waitForJob(cp, job.job_id)).counts).toMatchObject({ exported: 2, failed: 0 });
      expect(seen.length).toBeGreaterThanOrEqual(3); // one PUT, two parts at least
      expect(seen.filter((r) => /partNumber=/.test(r.url)).length).toBeGreaterThanOrEqual(2);
      expect(seen.every((r) => r.ok)).toBe(true);
      // Bytes damaged in transit are refused by the checksum (never stored) and sent again.
      corruptNext = true;
      seen.length = 0;
      const again = await cp.ok('start_export', { index: 'ck', connector_id: dstConn, keys: ['small.txt'], path_template: 'again/{key}' });
      expect((await waitForJob(cp, again.job_id)).counts).toMatchObject({ exported: 1, failed: 0 });
      expect(seen.map((r) => r.ok)).toEqual([false, true]);
      const s3 = (env.s3 as unknown as { client(): S3Client }).client();
      expect((await s3.send(new ListObjectsV2Command({ Bucket: 'ck-dst' }))).Contents?.map((o) => o.Key)).toEqual(['x/again/small.txt', 'x/big.bin', 'x/small.txt']);
      const body = await (await s3.send(new GetObjectCommand({ Bucket: 'ck-dst', Key: 'x/again/small.txt' }))).Body!.transformToString();
      expect(body).toBe('small body');
    } finally {
      await cp.close();
      await new Promise((r) => shim.close(r));
      await env.stop();
    }
  });
});
