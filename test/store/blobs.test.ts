import fs from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore, openBlobStore, type BlobStore } from '../../src/store/blobs.js';
import { tempDir, tempFiles } from '../helpers/cloudport.js';
import { bytes, sha256 } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startS3 } from '../support/fauxqs.mjs';

/** The same cases for every blob store: the local directory and the S3 blob store (fauxqs on 127.0.0.1). */
interface Fixture {
  name: string;
  open(): Promise<{ blobs: BlobStore; dataDir: string }>;
}

let s3: { endpoint: string; client(): any; stop(): Promise<void>; createBucket(n: string): void };
const S3_ENV = { CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID: 'AKIABLOBSTORE0000000', CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY: 'blob-store-secret-value-123' };
let prefixes = 0;

const fixtures: Fixture[] = [
  {
    name: 'local',
    async open() {
      const dataDir = tempDir('cloudport-blobs-');
      return { blobs: new LocalBlobStore(dataDir), dataDir };
    },
  },
  {
    name: 's3',
    async open() {
      const dataDir = tempDir('cloudport-blobs-');
      const blobs = await openBlobStore({ kind: 's3', bucket: 'blobs', prefix: `run${++prefixes}/cas`, endpoint: s3.endpoint, region: 'us-east-1' }, dataDir, S3_ENV);
      return { blobs, dataDir };
    },
  },
];

beforeAll(async () => {
  s3 = await startS3({ buckets: ['blobs'] });
});
afterAll(async () => s3?.stop());

async function put(blobs: BlobStore, content: Buffer, viaStream = false): Promise<{ sha: string; temp: string }> {
  const sha = sha256(content);
  let temp: string;
  if (viaStream) {
    const t = await blobs.createTemp();
    temp = t.path;
    await new Promise<void>((resolve, reject) => {
      t.stream.on('error', reject);
      t.stream.end(content, () => resolve());
    });
    await new Promise((r) => t.stream.once('close', r));
  } else {
    temp = blobs.tempPath();
    fs.writeFileSync(temp, content, { flag: 'wx' });
  }
  await blobs.commit(temp, sha);
  return { sha, temp };
}

const collect = async (r: NodeJS.ReadableStream) => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

const listAll = async (blobs: BlobStore) => {
  const out: string[] = [];
  for await (const id of blobs.list()) out.push(id);
  return out.sort();
};

describe.each(fixtures)('blob store: $name', (fx) => {
  it('commits a temp file under its SHA-256, idempotently; reads ranges; streams; the temp file is gone', async () => {
    const { blobs, dataDir } = await fx.open();
    try {
      const small = bytes(70_000, 1);
      const a = await put(blobs, small);
      expect(fs.existsSync(a.temp)).toBe(false);
      expect(await blobs.read(a.sha, 0, small.length)).toEqual(small);
      expect(await blobs.read(a.sha, 1000, 10)).toEqual(small.subarray(1000, 1010));
      // A window past the end is cut at the end; an offset at the end and a zero length give nothing.
      expect(await blobs.read(a.sha, small.length - 5, 100)).toEqual(small.subarray(small.length - 5));
      expect((await blobs.read(a.sha, small.length, 10)).length).toBe(0);
      expect((await blobs.read(a.sha, 0, 0)).length).toBe(0);
      // Same content again (another worker, a retried file): same address, still one blob, temp removed.
      const again = await put(blobs, Buffer.from(small), true);
      expect(again.sha).toBe(a.sha);
      expect(fs.existsSync(again.temp)).toBe(false);
      expect(await listAll(blobs)).toEqual([a.sha]);
      expect(await collect(blobs.stream(a.sha))).toEqual(small);
      // Larger than one single PUT and one stream range (multipart upload, several ranged GETs).
      const big = bytes(9 * 1024 * 1024 + 123, 2);
      const b = await put(blobs, big, true);
      expect(sha256(await collect(blobs.stream(b.sha)))).toBe(b.sha);
      expect(await blobs.read(b.sha, 8 * 1024 * 1024 - 3, 10)).toEqual(big.subarray(8 * 1024 * 1024 - 3, 8 * 1024 * 1024 + 7));
      // Committing the big one again is a no-op that still removes the temp file.
      const b2 = await put(blobs, big);
      expect(fs.existsSync(b2.temp)).toBe(false);
      expect(await listAll(blobs)).toEqual([a.sha, b.sha].sort());
      expect(tempFiles(dataDir)).toEqual([]);
    } finally {
      blobs.close?.();
    }
  });

  it('removes blobs (idempotently), lists what is left, refuses ids that are not SHA-256', async () => {
    const { blobs } = await fx.open();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await put(blobs, bytes(1000 + i, 10 + i))).sha);
      expect(await listAll(blobs)).toEqual([...ids].sort());
      await blobs.remove(ids[0]!);
      await blobs.remove(ids[0]!);
      await blobs.remove('0'.repeat(64));
      expect(await listAll(blobs)).toEqual(ids.slice(1).sort());
      await expect(blobs.read(ids[0]!, 0, 10)).rejects.toThrow();
      expect(() => blobs.stream('../../etc/passwd')).toThrow(/invalid blob id/);
      await expect(blobs.read('../x', 0, 1)).rejects.toThrow(/invalid blob id/);
      await expect(blobs.commit(blobs.tempPath(), 'ABC')).rejects.toThrow(/invalid blob id/);
    } finally {
      blobs.close?.();
    }
  });

  it('temp files stay local: discard removes one; cleanTemp removes those of dead processes and keeps live ones', async () => {
    const { blobs, dataDir } = await fx.open();
    try {
      const incoming = path.join(dataDir, 'incoming');
      const legacy = path.join(dataDir, 'tmp');
      const t = await blobs.createTemp();
      t.stream.end('x');
      await new Promise((r) => t.stream.once('close', r));
      // Temp files take incoming/0 … f in turn (creations and renames out of one directory contend).
      expect(path.dirname(path.dirname(t.path))).toBe(incoming);
      const dirs = new Set(Array.from({ length: 32 }, () => path.relative(incoming, path.dirname(blobs.tempPath()))));
      expect([...dirs].sort()).toEqual([...'0123456789abcdef']);
      // Nothing in tmp/: earlier versions' sweep removes every entry there as a file, and stops at a directory.
      expect(fs.existsSync(legacy) ? fs.readdirSync(legacy) : []).toEqual([]);
      fs.mkdirSync(legacy, { recursive: true });
      const sub = path.relative(incoming, path.dirname(t.path));
      // A dead process's leftovers: in tmp/ (where earlier versions kept them, in the old and the new
      // naming) and in incoming/; a live process's file (our parent).
      fs.writeFileSync(path.join(legacy, '999999-deadbeefdeadbeef.part'), 'x');
      const host = path.basename(t.path).split('.')[1];
      fs.writeFileSync(path.join(legacy, `999998-0011223344556677.${host}.part`), 'x');
      fs.writeFileSync(path.join(incoming, 'f', `999995-0011223344556677.${host}.part`), 'x');
      fs.writeFileSync(path.join(incoming, sub, `${process.ppid}-0011223344556677.${host}.part`), 'x');
      // Another host's file (a shared data dir) is left alone unless it is a day old.
      fs.writeFileSync(path.join(incoming, '3', '999997-0011223344556677.0badc0de.part'), 'x');
      const old = path.join(incoming, '7', '999996-0011223344556677.0badc0de.part');
      fs.writeFileSync(old, 'x');
      fs.utimesSync(old, new Date(Date.now() - 2 * 86_400_000), new Date(Date.now() - 2 * 86_400_000));
      expect(await blobs.cleanTemp()).toBe(4);
      expect(tempFiles(dataDir).sort()).toEqual(
        [path.relative(dataDir, t.path), path.join('incoming', sub, `${process.ppid}-0011223344556677.${host}.part`), path.join('incoming', '3', '999997-0011223344556677.0badc0de.part')].sort(),
      );
      await blobs.discard(t.path);
      expect(fs.existsSync(t.path)).toBe(false);
    } finally {
      blobs.close?.();
    }
  });

  it('incoming/ emptied or removed while running: the next temp files make their directory again, and so does the sweep', async () => {
    const { blobs, dataDir } = await fx.open();
    try {
      const incoming = path.join(dataDir, 'incoming');
      for (const name of fs.readdirSync(incoming)) fs.rmSync(path.join(incoming, name), { recursive: true, force: true });
      for (let i = 0; i < 16; i++) {
        const t = await blobs.createTemp();
        t.stream.end('x');
        await new Promise((r) => t.stream.once('close', r));
        await blobs.discard(t.path);
      }
      fs.rmSync(incoming, { recursive: true, force: true });
      await blobs.cleanTemp();
      expect(fs.readdirSync(incoming).sort()).toEqual([...'0123456789abcdef']);
    } finally {
      blobs.close?.();
    }
  });
});

describe('local blob store specifics', () => {
  const otherFs = fs.existsSync('/dev/shm') && fs.statSync('/dev/shm').dev !== fs.statSync(tempDir('cloudport-blobs-')).dev;
  it.skipIf(!otherFs)('--blob-store on another file system than the data dir: commit copies across (EXDEV), no part file stays', async () => {
    const dataDir = tempDir('cloudport-blobs-');
    const dir = fs.mkdtempSync('/dev/shm/cloudport-blobs-');
    try {
      const blobs = new LocalBlobStore(dataDir, dir);
      const content = bytes(50_000, 3);
      const { sha, temp } = await put(blobs, content);
      expect(fs.existsSync(temp)).toBe(false);
      expect(fs.readdirSync(path.join(dir, sha.slice(0, 2)))).toEqual([sha]);
      expect(await blobs.read(sha, 0, content.length)).toEqual(content);
      expect(await listAll(blobs)).toEqual([sha]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('S3 blob store specifics', () => {
  it('keeps to its prefix: <prefix>/<sha[0:2]>/<sha>; other objects in the bucket are not blobs', async () => {
    const dataDir = tempDir('cloudport-blobs-');
    const blobs = await openBlobStore({ kind: 's3', bucket: 'blobs', prefix: 'shared/prefix', endpoint: s3.endpoint, region: 'us-east-1' }, dataDir, S3_ENV);
    const client = s3.client();
    try {
      await client.send(new PutObjectCommand({ Bucket: 'blobs', Key: 'shared/prefix/readme.txt', Body: 'not a blob' }));
      await client.send(new PutObjectCommand({ Bucket: 'blobs', Key: 'shared/other/ab/' + 'ab'.repeat(32), Body: 'outside' }));
      const { sha } = await put(blobs, Buffer.from('hello blob'));
      const keys = ((await client.send(new ListObjectsV2Command({ Bucket: 'blobs', Prefix: 'shared/' }))).Contents ?? []).map((o: { Key: string }) => o.Key).sort();
      expect(keys).toContain(`shared/prefix/${sha.slice(0, 2)}/${sha}`);
      expect(await listAll(blobs)).toEqual([sha]);
    } finally {
      blobs.close?.();
    }
  });

  it('a missing bucket or half-given credentials fail at start-up with config_invalid and no secret in the message', async () => {
    const dataDir = tempDir('cloudport-blobs-');
    const err = await openBlobStore({ kind: 's3', bucket: 'no-such-bucket', prefix: '', endpoint: s3.endpoint, region: 'us-east-1' }, dataDir, S3_ENV).catch((e) => e);
    expect(err.kind).toBe('config_invalid');
    expect(err.field).toBe('--blob-store');
    expect(err.message).toContain('s3://no-such-bucket/');
    expect(JSON.stringify({ m: err.message, f: err.fix })).not.toContain(S3_ENV.CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY);
    const half = await openBlobStore({ kind: 's3', bucket: 'blobs', prefix: '', endpoint: s3.endpoint, region: 'us-east-1' }, dataDir, { CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID: 'AKIAONLY' }).catch((e) => e);
    expect(half.kind).toBe('config_invalid');
    expect(half.field).toBe('CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY');
  });
});
