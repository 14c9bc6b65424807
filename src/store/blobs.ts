import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from '../shared/log.js';

import { BLOB_ID, MARKER_NAME, TempFiles, checkBlobId, type BlobStore } from './blob-store.js';

// The contract and its helpers live in blob-store.ts, shared with the S3 blob store (loaded lazily, so no cycle).
export { BLOB_ID, TempFiles, checkBlobId, gcUnlink, inRecreatedDir, type BlobStore } from './blob-store.js';

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
 * Opens the configured blob store. Temp files live in <data-dir>/incoming either way. The S3 blob store
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
    dataDir,
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

  /** Blobs in `blobsDir` (default <root>/blobs), temp files in <root>/incoming (TempFiles). */
  constructor(root: string, blobsDir?: string) {
    this.blobs = blobsDir ?? path.join(root, 'blobs');
    this.location = this.blobs;
    this.temp = new TempFiles(root);
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
      // The shard folder went away since it was made (removed under the running server): made again, once.
      if (code === 'ENOENT' && fs.existsSync(tempPath) && !fs.existsSync(dir)) {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        fs.renameSync(tempPath, dest);
        return;
      }
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
    // --blob-store on another file system than the data dir's incoming dir: copy next to the blob, then rename there.
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

  async readMarker(): Promise<string | null> {
    try {
      return (await fsp.readFile(path.join(this.blobs, MARKER_NAME), 'utf8')).trim() || null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async writeMarker(id: string): Promise<void> {
    // Written aside, then linked into place: the marker is whole or absent, and one already there stays
    // (an empty one, left by a crash of an older write, is replaced).
    const marker = path.join(this.blobs, MARKER_NAME);
    const temp = `${marker}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await fsp.writeFile(temp, `${id}\n`, { mode: 0o600 });
    try {
      await fsp.link(temp, marker);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if ((await this.readMarker()) === null) await fsp.rename(temp, marker);
    } finally {
      await fsp.rm(temp, { force: true });
    }
  }
}

