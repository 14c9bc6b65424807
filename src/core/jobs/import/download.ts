import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { finished as streamFinished } from 'node:stream/promises';
import type { StorageProvider } from '../../../providers/types.js';
import { inRecreatedDir, type BlobStore } from '../../../store/blobs.js';
import { CloudportError, asCloudportError } from '../../../shared/errors.js';
import { THROTTLE_FACTOR, backoffMs, sleep, type RetryPolicy } from '../../domain/retry.js';
import { ChecksumVerifier } from './checksum.js';
import type { Digests, HashWorkers } from './hash-workers.js';

export interface Downloaded {
  sha256: string;
  size: number;
  content_type: string;
  etag: string | null;
  version: string;
  tempPath: string;
  /** The object's first bytes (up to HEAD_BYTES). */
  head: Buffer;
  /** Time spent waiting for the service to start answering (every attempt's request until its headers). */
  waitMs: number;
}

export interface DownloadOptions {
  retry: RetryPolicy;
  /** A body that delivers no byte for this long is abandoned and resumed. */
  idleTimeoutMs: number;
  signal: AbortSignal;
  onRetry?: (e: CloudportError, attempt: number) => void;
  /** The service throttled a request (429/503): it asks everyone to slow down. */
  onThrottle?: () => void;
  /** Hash and write on these worker threads (else on the main thread). */
  hashers?: HashWorkers;
  /** What the listing (or stat) said of the object: a read answering its etag with another size is refused. */
  listed?: { size: number | null; etag: string | null };
}

/** Objects up to this size are collected in memory and written with one call (no write stream). */
const SMALL_OBJECT = 1024 * 1024;

/** Where downloaded bytes go before the blob is committed; it hashes them too (SHA-256, and MD5 when asked). */
interface Sink {
  path: string;
  write(chunk: Buffer): void | Promise<void>;
  /** Closes the temp file: the digests of every byte written. */
  finish(): Promise<Digests>;
  discard(): Promise<void>;
}

/**
 * A local write failed (disk full, read-only, quota): not the storage service's fault and not
 * worth retrying; the message names the cause and the folder.
 */
export function diskError(e: unknown, file: string): CloudportError {
  if (e instanceof CloudportError) return e;
  const err = e as NodeJS.ErrnoException;
  const dir = path.dirname(file);
  const cause =
    err.code === 'ENOSPC'
      ? 'ENOSPC: no space left on device'
      : err.code === 'EDQUOT'
        ? 'EDQUOT: disk quota exceeded'
        : err.code === 'EROFS'
          ? 'EROFS: read-only file system'
          : // Node's message starts with the code already ("EACCES: permission denied, open '…'").
            err.code && !err.message.startsWith(`${err.code}:`) ? `${err.code}: ${err.message}` : err.message;
  return new CloudportError('unexpected', `cannot write the download to the data dir (${dir}): ${cause}`, {
    temporary: false,
    cause: e,
    fix: 'Free space on the disk that holds the data dir (or give --data-dir on a larger disk), then import the failed files again with start_import {retry_of}.',
  });
}

/** Hashes on the main thread (no hash workers). */
function inlineHashes(md5: boolean) {
  const sha = createHash('sha256');
  const m = md5 ? createHash('md5') : null;
  let size = 0;
  return {
    update(b: Buffer) {
      sha.update(b);
      m?.update(b);
      size += b.length;
    },
    digests: (): Digests => ({ sha256: sha.digest('hex'), ...(m ? { md5: m.digest('base64') } : {}), size }),
  };
}

async function fileSink(blobs: BlobStore, md5: boolean, hashers?: HashWorkers): Promise<Sink> {
  if (hashers) {
    // Hashed and written on a worker, chunk by chunk (the main thread only copies the bytes there).
    const file = blobs.tempPath();
    const s = hashers.stream(file, md5);
    return {
      path: file,
      write(chunk) {
        try {
          return s.write(chunk);
        } catch (e) {
          throw diskError(e, file);
        }
      },
      finish: () =>
        s.finish().catch((e) => {
          throw diskError(e, file);
        }),
      discard: () => s.discard(),
    };
  }
  const t = await blobs.createTemp().catch((e) => {
    throw diskError(e, (e as NodeJS.ErrnoException).path ?? blobs.tempPath());
  });
  const stream = t.stream;
  const h = inlineHashes(md5);
  // A write error (ENOSPC, EIO) is emitted once, on the stream: keep it, and fail the next write or finish.
  let failed: Error | null = null;
  stream.on('error', (e) => (failed ??= e));
  const check = () => {
    if (failed) throw diskError(failed, t.path);
  };
  return {
    path: t.path,
    write(chunk) {
      check();
      h.update(chunk);
      if (stream.write(chunk)) return;
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          stream.off('drain', done);
          stream.off('close', done);
          if (failed) reject(diskError(failed, t.path));
          else resolve();
        };
        stream.on('drain', done);
        stream.on('close', done);
      });
    },
    async finish() {
      check();
      stream.end();
      await streamFinished(stream).catch((e) => {
        throw diskError(failed ?? e, t.path);
      });
      check();
      return h.digests();
    },
    async discard() {
      stream.destroy();
      await blobs.discard(t.path);
    },
  };
}

/** Bounded: a body that grows past `limit` is a changed object (conflict), and the download restarts. */
function memorySink(blobs: BlobStore, limit: number, md5: boolean, hashers?: HashWorkers): Sink {
  const file = blobs.tempPath();
  const chunks: Buffer[] = [];
  let n = 0;
  let written = false;
  return {
    path: file,
    write(chunk) {
      n += chunk.length;
      if (n > limit) throw new CloudportError('conflict', 'the object grew while it was being read', { temporary: true });
      chunks.push(chunk);
    },
    // Hashed and written in one call of at most 1 MiB: on a hash worker, or on the thread pool (a
    // synchronous write would stall every other download whenever the disk is slow to open a file).
    finish: async () => {
      written = true;
      try {
        if (hashers) return await hashers.whole(file, chunks.splice(0), md5);
        const bytes = Buffer.concat(chunks.splice(0), n);
        const h = inlineHashes(md5);
        h.update(bytes);
        await inRecreatedDir(file, () => fsp.writeFile(file, bytes, { flag: 'wx', mode: 0o600 }));
        return h.digests();
      } catch (e) {
        throw diskError(e, file);
      }
    },
    discard: () => (written ? blobs.discard(file) : Promise.resolve()),
  };
}

/** Marks a whole-object checksum that did not match: the download starts again from byte 0. */
const CHECKSUM_MISMATCH = Symbol('checksum mismatch');

/**
 * Throttling is a signal about the connector, not about one file: while one download waits out a
 * 429/503 (and its Retry-After), the other downloads through the same client wait too, so a job
 * slows down as a whole instead of hammering the service. Keyed by the pooled provider instance.
 */
const throttledUntil = new WeakMap<StorageProvider, number>();

async function waitThrottle(provider: StorageProvider, signal: AbortSignal): Promise<void> {
  const until = throttledUntil.get(provider) ?? 0;
  const ms = until - Date.now();
  if (ms > 0) await sleep(ms, signal);
}

/** Bytes of an object's start kept for sniffing its format. */
const HEAD_BYTES = 512;

/**
 * provider.read, given up when no answer (its headers) comes within the idle timeout, as a body that
 * stalls is: a server that never starts answering must not hold the file's slot for good. The read's
 * signal stays linked to the job's, so a cancel still ends the body later. A provider whose reads
 * time out by themselves is called as it is: a controller, a listener and a timer per read cost a few
 * percent of the main thread's time on small files.
 */
async function readWithin(provider: StorageProvider, key: string, req: { offset: number; ifVersion: string | undefined }, opts: DownloadOptions) {
  const c = provider.capabilities;
  if (!c.readAnswersAtHeaders || c.readTimesOut) return provider.read(key, { ...req, signal: opts.signal });
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(opts.signal.reason);
  if (opts.signal.aborted) onAbort();
  else opts.signal.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort(new CloudportError('unexpected', `no answer to the read of ${JSON.stringify(key)} within ${opts.idleTimeoutMs} ms`, { temporary: true }));
  }, opts.idleTimeoutMs);
  try {
    const r = await provider.read(key, { ...req, signal: ctl.signal });
    r.body.once('close', () => opts.signal.removeEventListener('abort', onAbort));
    return r;
  } catch (e) {
    opts.signal.removeEventListener('abort', onAbort);
    if (timedOut && !opts.signal.aborted) throw new CloudportError('unexpected', `no answer to the read of ${JSON.stringify(key)} within ${opts.idleTimeoutMs} ms`, { temporary: true });
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Streams one object into a temp file while hashing it (bounded memory: one chunk at a time with
 * backpressure; objects up to 1 MiB are gathered and written in one call). A cut or stalled body is
 * resumed with a ranged read pinned to the same version; a changed object restarts from byte 0; the
 * length is verified, and so are the provider's checksums of the whole object (MD5 or CRC32C, fed
 * across resumes): a mismatch restarts from byte 0 and, if it persists, fails with "checksum
 * mismatch". Throttling backs off (honouring Retry-After) for every download of the connector.
 */
export async function downloadObject(provider: StorageProvider, blobs: BlobStore, key: string, opts: DownloadOptions): Promise<Downloaded> {
  let sink: Sink | null = null;
  let verifier: ChecksumVerifier | null = null;
  let digests: Digests | null = null;
  let written = 0;
  let size = -1;
  let version = '';
  let etag: string | null = null;
  let contentType = 'application/octet-stream';
  let failures = 0;
  let throttles = 0;
  let waitMs = 0;
  /** A copy of the object's first bytes (what the text extraction's sniffing reads). */
  let head: Buffer | null = null;
  const restart = async () => {
    await sink?.discard();
    sink = null;
    head = null;
    digests = null;
    verifier = null;
    written = 0;
    size = -1;
  };
  try {
    for (;;) {
      try {
        const resuming = written > 0 && provider.capabilities.rangedRead;
        if (written > 0 && !resuming) await restart();
        await waitThrottle(provider, opts.signal);
        const asked = performance.now();
        const r = await readWithin(provider, key, { offset: written, ifVersion: resuming ? version : undefined }, opts).finally(() => (waitMs += performance.now() - asked));
        if (!resuming) {
          const listed = opts.listed;
          if (provider.capabilities.contentEtag && listed?.etag && r.etag === listed.etag && listed.size !== null && r.size !== listed.size) {
            r.body.destroy();
            throw Object.assign(
              new CloudportError('unexpected', `object ${JSON.stringify(key)} was answered as ${r.size} bytes under the etag it was listed with at ${listed.size} bytes: the answer was cut or altered on the way`, {
                temporary: true,
                fix: 'Retrying reads the object again. If it persists, check the network path (proxies, middleboxes) between cloudport and the service.',
              }),
              { [CHECKSUM_MISMATCH]: true },
            );
          }
          size = r.size;
          version = r.version;
          etag = r.etag;
          // The sink computes the MD5 with the SHA-256 (one pass, off the main thread with hash workers).
          verifier = ChecksumVerifier.for(r.checksums, true);
          if (r.content_type) contentType = r.content_type;
        }
        const v = verifier as ChecksumVerifier | null;
        const wantMd5 = v?.needsMd5 ?? false;
        sink ??= size <= SMALL_OBJECT ? memorySink(blobs, size, wantMd5, opts.hashers) : await fileSink(blobs, wantMd5, opts.hashers);
        const copied = { n: 0 };
        try {
          await pump(
            r.body,
            sink,
            (chunk) => {
              v?.update(chunk);
              head ??= Buffer.from(chunk.subarray(0, HEAD_BYTES));
            },
            provider.capabilities.readTimesOut ? 0 : opts.idleTimeoutMs,
            opts.signal,
            copied,
          );
        } finally {
          written += copied.n;
        }
        if (written === size) {
          digests = await (sink as Sink).finish();
          const bad = v?.mismatch(digests.md5);
          if (!bad) break;
          throw Object.assign(
            new CloudportError('unexpected', `checksum mismatch: object ${JSON.stringify(key)} arrived as ${written} bytes that do not match its checksum (${bad})`, {
              temporary: true,
              fix: 'The bytes were damaged on the way (or by the service); retrying reads the object again from the start. If it persists, check the network path (proxies, middleboxes) and the object itself.',
            }),
            { [CHECKSUM_MISMATCH]: true },
          );
        }
        if (written > size) throw new CloudportError('conflict', `object ${JSON.stringify(key)} delivered more bytes than its size (${written} > ${size})`, { temporary: true });
        throw new CloudportError('unexpected', `download of ${JSON.stringify(key)} ended at ${written} of ${size} bytes`, { temporary: true });
      } catch (e) {
        if (opts.signal.aborted) throw opts.signal.reason ?? e;
        const err = asCloudportError(e);
        // The object changed, lied about its size, or its bytes did not match its checksum: start
        // again from byte 0 with fresh hashes.
        if (err.kind === 'conflict' || written > size || (err as unknown as Record<symbol, unknown>)[CHECKSUM_MISMATCH]) await restart();
        if (!err.temporary) throw err;
        let wait: number;
        if (err.kind === 'rate_limited') {
          throttles++;
          if (throttles >= opts.retry.attempts * THROTTLE_FACTOR) throw err;
          wait = backoffMs(Math.min(throttles - 1, 16), opts.retry, err.retryAfter);
          throttledUntil.set(provider, Math.max(throttledUntil.get(provider) ?? 0, Date.now() + wait));
          opts.onThrottle?.();
          opts.onRetry?.(err, failures + throttles);
        } else {
          failures++;
          if (failures >= opts.retry.attempts) throw err;
          wait = backoffMs(failures - 1, opts.retry, err.retryAfter);
          opts.onRetry?.(err, failures + throttles);
        }
        await sleep(wait, opts.signal);
      }
    }
    const done = sink as Sink | null;
    const d = digests as Digests | null;
    if (!done || !d) throw new CloudportError('unexpected', 'download finished without data');
    return { sha256: d.sha256, size, content_type: contentType, etag, version, tempPath: done.path, head: head ?? Buffer.alloc(0), waitMs };
  } catch (e) {
    await (sink as Sink | null)?.discard();
    throw e;
  }
}

/**
 * Copies a body into the file and the hash, counting bytes in `copied` (kept when the body fails: the
 * caller resumes after them). `idleMs` 0: the body times out by itself (see readTimesOut).
 */
async function pump(
  body: NodeJS.ReadableStream & { destroy(e?: Error): void },
  out: Sink,
  onChunk: (chunk: Buffer) => void,
  idleMs: number,
  signal: AbortSignal,
  copied: { n: number },
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const arm = idleMs
    ? () => {
        clearTimeout(timer);
        timer = setTimeout(() => body.destroy(new CloudportError('unexpected', `no data received for ${Math.round(idleMs / 1000)} s`, { temporary: true })), idleMs);
      }
    : () => undefined;
  const onAbort = () => body.destroy(new Error('aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  arm();
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      arm();
      onChunk(chunk);
      copied.n += chunk.length;
      const wait = out.write(chunk);
      if (wait) await wait;
    }
  } catch (e) {
    if (e instanceof CloudportError) throw e;
    throw new CloudportError('unexpected', `connection lost while downloading (${(e as Error).message})`, { temporary: true });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}
