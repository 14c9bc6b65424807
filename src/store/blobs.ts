import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from '../shared/log.js';

/**
 * Content-addressed storage for imported bytes. Object keys never become paths: a blob's name is
 * its SHA-256. Writes go to a local temp file first and are moved into place (renamed, or uploaded
 * for the S3 blob store) once hashed and verified. Temp files always stay on the local disk.
 */
export interface BlobStore {
  /** Where the blobs live, for logs and health (never credentials): a directory or s3://bucket/prefix. */
  readonly location: string;
  /** A new temp file to stream a download into. */
  createTemp(): Promise<{ path: string; stream: fs.WriteStream }>;
  /** A fresh temp file name (not created) for content written in one call. */
  tempPath(): string;
  /**
   * Moves a verified temp file to its content address; the temp file is gone afterwards. Idempotent:
   * the same address always holds the same content, so committing an existing blob changes nothing.
   */
  commit(tempPath: string, sha256: string): Promise<void>;
  /**
   * commit, synchronously (a rename), for a store whose write transaction cannot await: only where
   * the temp dir and the blobs are on one file system. Placing a blob that is already there (an
   * earlier try moved the temp file) is no error.
   */
  commitSync?(tempPath: string, sha256: string): void;
  discard(tempPath: string): Promise<void>;
  read(sha256: string, offset: number, length: number): Promise<Buffer>;
  stream(sha256: string): Readable;
  /** Idempotent: removing a missing blob is not an error. */
  remove(sha256: string): Promise<void>;
  /** Synchronous remove (local stores only), for a store whose write lock cannot await. */
  removeSync?(sha256: string): void;
  /** Every stored blob id (for a full GC sweep). */
  list(): AsyncIterable<string>;
  /** Deletes temp files left by processes that are gone. */
  cleanTemp(): Promise<number>;
  /** Fails with a clear error when the blob store cannot be used (checked at start-up). */
  check?(): Promise<void>;
  close?(): void;
}

export const BLOB_ID = /^[0-9a-f]{64}$/;

/**
 * The unlink callback for Store.gcBlobs: synchronous for a local store, a promise for a remote one
 * (a store that awaits it removes the blob inside its lock). The promise's rejection is also observed
 * here, so a caller that does not await it cannot crash the process with an unhandled rejection.
 */
export function gcUnlink(blobs: BlobStore): (sha256: string) => void | Promise<void> {
  if (blobs.removeSync) return (sha) => blobs.removeSync!(sha);
  return (sha) => {
    const p = blobs.remove(sha);
    p.catch(() => undefined);
    return p;
  };
}

export function checkBlobId(sha: string): string {
  if (!BLOB_ID.test(sha)) throw new Error('invalid blob id');
  return sha;
}

/** Temp files older than this whose writer ran on another host (a shared data dir) are removed anyway. */
const FOREIGN_TEMP_MAX_AGE_MS = 24 * 3600_000;
/** Names this host in temp file names, so a data dir shared by several hosts never loses a live writer's file. */
const HOST_TAG = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);

/**
 * Local temp files for downloads: `<pid>-<random>.<host>.part` in one directory. Files of processes
 * that are gone (same host, pid not alive) are removed at start-up and by the periodic sweep.
 */
export class TempFiles {
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** A random prefix per instance and a counter: unique without a random draw per file (files open with `wx` anyway). */
  private readonly tag = randomBytes(4).toString('hex');
  private seq = 0;

  tempPath(): string {
    return path.join(this.dir, `${process.pid}-${this.tag}${(this.seq++).toString(16).padStart(8, '0')}.${HOST_TAG}.part`);
  }

  async createTemp(): Promise<{ path: string; stream: fs.WriteStream }> {
    const p = this.tempPath();
    const stream = fs.createWriteStream(p, { flags: 'wx', mode: 0o600 });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return { path: p, stream };
  }

  async discard(tempPath: string): Promise<void> {
    await fsp.rm(tempPath, { force: true });
  }

  async cleanTemp(): Promise<number> {
    let n = 0;
    for (const name of await fsp.readdir(this.dir).catch(() => [] as string[])) {
      const pid = Number(name.split('-')[0]);
      const host = /\.([0-9a-f]{8})\.part$/.exec(name)?.[1];
      const file = path.join(this.dir, name);
      if (host && host !== HOST_TAG) {
        const st = await fsp.stat(file).catch(() => null);
        if (!st || Date.now() - st.mtimeMs < FOREIGN_TEMP_MAX_AGE_MS) continue;
      } else {
        if (pid === process.pid) continue;
        if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue;
      }
      await fsp.rm(file, { force: true });
      n++;
    }
    return n;
  }
}

export interface BlobStoreSpec {
  kind: 'local' | 's3';
  /** local: the blobs directory (default <data-dir>/blobs). */
  dir?: string | null;
  bucket?: string;
  prefix?: string;
  endpoint?: string | null;
  region?: string;
}

/**
 * Opens the configured blob store. Temp files live in <data-dir>/tmp either way. The S3 blob store
 * (and its SDK) is loaded only when configured; its credentials come from
 * CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID / CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY or the AWS default chain.
 */
export async function openBlobStore(spec: BlobStoreSpec | undefined, dataDir: string, env: NodeJS.ProcessEnv, log?: Logger): Promise<BlobStore> {
  if (!spec || spec.kind === 'local') return new LocalBlobStore(dataDir, spec?.dir ?? undefined);
  const { S3BlobStore } = await import('./s3-blobs.js');
  const store = new S3BlobStore({
    bucket: spec.bucket!,
    prefix: spec.prefix ?? '',
    endpoint: spec.endpoint ?? null,
    region: spec.region ?? 'us-east-1',
    tempDir: path.join(dataDir, 'tmp'),
    env,
    log,
  });
  try {
    await store.check();
  } catch (e) {
    store.close();
    throw e;
  }
  return store;
}

export class LocalBlobStore implements BlobStore {
  private readonly blobs: string;
  private readonly temp: TempFiles;
  readonly location: string;

  /** Blobs in `blobsDir` (default <root>/blobs), temp files in <root>/tmp. */
  constructor(root: string, blobsDir?: string) {
    this.blobs = blobsDir ?? path.join(root, 'blobs');
    this.location = this.blobs;
    this.temp = new TempFiles(path.join(root, 'tmp'));
    fs.mkdirSync(this.blobs, { recursive: true, mode: 0o700 });
    // A rename cannot cross file systems: a --blob-store dir elsewhere commits by copying (async only).
    if (fs.statSync(this.blobs).dev !== fs.statSync(this.temp.dir).dev) this.commitSync = undefined;
  }

  commitSync?: (tempPath: string, sha256: string) => void = (tempPath, sha256) => {
    const dest = this.blobPath(sha256);
    const dir = path.dirname(dest);
    if (!this.shards.has(dir)) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.shards.add(dir);
    }
    // rename is atomic and replaces an existing blob, which has the same content by construction.
    try {
      fs.renameSync(tempPath, dest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && fs.existsSync(dest) && !fs.existsSync(tempPath)) return;
      // Two mounts of one file system (same device, still no rename across them): copy from now on.
      if (code === 'EXDEV') this.commitSync = undefined;
      throw e;
    }
  };

  private blobPath(sha: string): string {
    checkBlobId(sha);
    return path.join(this.blobs, sha.slice(0, 2), sha);
  }

  tempPath(): string {
    return this.temp.tempPath();
  }

  createTemp(): Promise<{ path: string; stream: fs.WriteStream }> {
    return this.temp.createTemp();
  }

  private readonly shards = new Set<string>();

  async commit(tempPath: string, sha256: string): Promise<void> {
    if (this.commitSync) {
      try {
        return this.commitSync(tempPath, sha256); // a metadata operation: no thread-pool round trip
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      }
    }
    // --blob-store on another file system than the data dir's tmp: copy next to the blob, then rename there.
    const dest = this.blobPath(sha256);
    await fsp.mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
    const part = `${dest}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
    try {
      await fsp.copyFile(tempPath, part);
      await fsp.rename(part, dest);
    } finally {
      await fsp.rm(part, { force: true });
      await fsp.rm(tempPath, { force: true });
    }
  }

  discard(tempPath: string): Promise<void> {
    return this.temp.discard(tempPath);
  }

  async read(sha256: string, offset: number, length: number): Promise<Buffer> {
    const fh = await fsp.open(this.blobPath(sha256), 'r');
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  stream(sha256: string): Readable {
    return fs.createReadStream(this.blobPath(sha256));
  }

  async remove(sha256: string): Promise<void> {
    await fsp.rm(this.blobPath(sha256), { force: true });
  }

  removeSync(sha256: string): void {
    fs.rmSync(this.blobPath(sha256), { force: true });
  }

  async *list(): AsyncIterable<string> {
    for (const shard of await fsp.readdir(this.blobs)) {
      for (const name of await fsp.readdir(path.join(this.blobs, shard)).catch(() => [])) if (BLOB_ID.test(name)) yield name;
    }
  }

  cleanTemp(): Promise<number> {
    return this.temp.cleanTemp();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
