import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from '../shared/log.js';
import { processAlive } from '../shared/process.js';

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
  /**
   * The id of the deployment whose content this blob store holds (a small marker object beside the
   * blobs), or null when it has none. writeMarker creates it only where none is: the id already there wins.
   */
  readMarker(): Promise<string | null>;
  writeMarker(id: string): Promise<void>;
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
 * Directories that new temp files take in turn. A file is created by a hash worker while the main
 * thread renames finished ones out into the blob store: in one shared directory, ext4 makes each such
 * rename wait on the creations (about 500 µs a rename, and twice the system CPU for create, write and
 * rename, against 25 µs once they are spread over even four directories;
 * docs/decisions/temp-file-directories.md).
 */
const TEMP_SUBDIRS = 16;
/** A directory of the first spread layout (tmp/N) untouched this long has no running writer left. */
const OLD_LAYOUT_IDLE_MS = 3600_000;

/**
 * Makes a temp directory (`incoming/N`) and its parent (`incoming`) again if they are gone, but not the
 * data dir above them: a data dir that vanished (unmounted, deleted) is an error, not a place to rebuild.
 */
export function remakeTempDir(dir: string): void {
  for (const d of [path.dirname(dir), dir]) {
    try {
      fs.mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** Creates a file with `create`; when its directory was removed meanwhile (ENOENT), makes it again (remakeTempDir) and tries once more. */
export async function inRecreatedDir<T>(file: string, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    remakeTempDir(path.dirname(file));
    return create();
  }
}

/** The tags in the temp file names of this process's TempFiles: the pid alone does not tell it from an earlier process with the same pid. */
const TAGS_OF_THIS_PROCESS = new Set<string>();

function tagOfThisProcess(): string {
  const tag = randomBytes(4).toString('hex');
  TAGS_OF_THIS_PROCESS.add(tag);
  return tag;
}

/**
 * Local temp files for downloads: `<pid>-<random>.<host>.part` in `<data-dir>/incoming/0` … `f`,
 * taken in turn. Files of processes that are gone (same host, and a pid not alive, or our pid without
 * one of our tags) are removed at start-up and by the periodic sweep. The sweep also empties `<data-dir>/tmp`, where earlier versions kept
 * temp files in one directory. The new ones are not subdirectories of it: those versions' sweep
 * removes every entry of tmp/ as a file, and a directory there would stop their start-up (a rollback,
 * or an older process sharing the data dir). A directory removed while running is made again by the
 * next file that needs it, and by the sweep.
 */
export class TempFiles {
  /** `<data-dir>/incoming` */
  readonly dir: string;
  private readonly legacy: string;
  private readonly subdirs: string[];

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'incoming');
    this.legacy = path.join(dataDir, 'tmp');
    this.subdirs = Array.from({ length: TEMP_SUBDIRS }, (_, i) => path.join(this.dir, i.toString(16)));
    for (const d of this.subdirs) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  }

  private makeDirs(): void {
    for (const d of this.subdirs) remakeTempDir(d);
  }

  /** A random prefix per instance and a counter: unique without a random draw per file (files open with `wx` anyway). */
  private readonly tag = tagOfThisProcess();
  private seq = 0;

  tempPath(): string {
    const n = this.seq++;
    return path.join(this.subdirs[n % TEMP_SUBDIRS]!, `${process.pid}-${this.tag}${n.toString(16).padStart(8, '0')}.${HOST_TAG}.part`);
  }

  async createTemp(): Promise<{ path: string; stream: fs.WriteStream }> {
    const p = this.tempPath();
    const open = () =>
      new Promise<fs.WriteStream>((resolve, reject) => {
        const stream = fs.createWriteStream(p, { flags: 'wx', mode: 0o600 });
        stream.once('open', () => resolve(stream));
        stream.once('error', reject);
      });
    return { path: p, stream: await inRecreatedDir(p, open) };
  }

  async discard(tempPath: string): Promise<void> {
    await fsp.rm(tempPath, { force: true });
  }

  async cleanTemp(): Promise<number> {
    let n = 0;
    for (const dir of [this.legacy, ...this.subdirs]) n += await this.cleanDir(dir);
    // tmp/0 … f of the build that first spread temp files (in tmp/): emptied, then removed once idle, so
    // that an earlier version's sweep of tmp/ (every entry removed as a file) never meets a directory. A
    // process of that build still running makes its files there without making the directory again: one
    // written to within the last hour is left alone.
    for (let i = 0; i < TEMP_SUBDIRS; i++) {
      const old = path.join(this.legacy, i.toString(16));
      const st = await fsp.stat(old).catch(() => null); // before the sweep's own removals touch it
      n += await this.cleanDir(old);
      if (st?.isDirectory() && Date.now() - st.mtimeMs > OLD_LAYOUT_IDLE_MS) await fsp.rmdir(old).catch(() => undefined); // ENOTEMPTY: a live file
    }
    this.makeDirs();
    return n;
  }

  private async cleanDir(dir: string): Promise<number> {
    let n = 0;
    for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
      if (!name.endsWith('.part')) continue;
      const pid = Number(name.split('-')[0]);
      const host = /\.([0-9a-f]{8})\.part$/.exec(name)?.[1];
      const file = path.join(dir, name);
      if (host && host !== HOST_TAG) {
        const st = await fsp.stat(file).catch(() => null);
        if (!st || Date.now() - st.mtimeMs < FOREIGN_TEMP_MAX_AGE_MS) continue;
      } else if (pid === process.pid) {
        // Our pid is ours only with one of this process's tags: a process restarted with its
        // predecessor's pid (pid 1 in a container) removes what the predecessor left.
        if (TAGS_OF_THIS_PROCESS.has(name.slice(name.indexOf('-') + 1, name.indexOf('-') + 9))) continue;
      } else if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
      // Anything else by that name (a directory) stays: the sweep never stops the start-up.
      if (await fsp.rm(file, { force: true }).then(() => true, () => false)) n++;
    }
    return n;
  }
}


/** The marker's name beside the blobs (it is no blob id, so listings and GC sweeps pass it by). */
export const MARKER_NAME = '.cloudport-content-id';
