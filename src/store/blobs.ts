import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';

/**
 * Content-addressed storage for imported bytes. Object keys never become paths: a blob's name is
 * its SHA-256. Writes go to a temp file first and are renamed into place once hashed and verified.
 */
export interface BlobStore {
  /** A new temp file to stream a download into. */
  createTemp(): Promise<{ path: string; stream: fs.WriteStream }>;
  /** A fresh temp file name (not created) for content written in one call. */
  tempPath(): string;
  /** Moves a verified temp file to its content address (a no-op if that blob already exists). */
  commit(tempPath: string, sha256: string): Promise<void>;
  discard(tempPath: string): Promise<void>;
  read(sha256: string, offset: number, length: number): Promise<Buffer>;
  stream(sha256: string): Readable;
  remove(sha256: string): Promise<void>;
  /** Synchronous remove, for use inside the store's write lock (blob GC). */
  removeSync(sha256: string): void;
  /** Every stored blob id (for a full GC sweep). */
  list(): AsyncIterable<string>;
  /** Deletes temp files left by processes that are gone. */
  cleanTemp(): Promise<number>;
}

export class LocalBlobStore implements BlobStore {
  private readonly blobs: string;
  private readonly tmp: string;

  constructor(root: string) {
    this.blobs = path.join(root, 'blobs');
    this.tmp = path.join(root, 'tmp');
    fs.mkdirSync(this.blobs, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
  }

  private blobPath(sha: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha)) throw new Error('invalid blob id');
    return path.join(this.blobs, sha.slice(0, 2), sha);
  }

  tempPath(): string {
    return path.join(this.tmp, `${process.pid}-${randomBytes(8).toString('hex')}.part`);
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

  private readonly shards = new Set<string>();

  async commit(tempPath: string, sha256: string): Promise<void> {
    const dest = this.blobPath(sha256);
    const dir = path.dirname(dest);
    if (!this.shards.has(dir)) {
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
      this.shards.add(dir);
    }
    // rename is atomic and replaces an existing blob, which has the same content by construction.
    await fsp.rename(tempPath, dest);
  }

  async discard(tempPath: string): Promise<void> {
    await fsp.rm(tempPath, { force: true });
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
      for (const name of await fsp.readdir(path.join(this.blobs, shard)).catch(() => [])) if (/^[0-9a-f]{64}$/.test(name)) yield name;
    }
  }

  async cleanTemp(): Promise<number> {
    let n = 0;
    for (const name of await fsp.readdir(this.tmp)) {
      const pid = Number(name.split('-')[0]);
      if (pid === process.pid) continue;
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue;
      await fsp.rm(path.join(this.tmp, name), { force: true });
      n++;
    }
    return n;
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
