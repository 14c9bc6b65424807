import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fsp from 'node:fs/promises';
import type { StorageProvider } from '../providers/types.js';
import type { BlobStore } from '../store/blobs.js';
import { CloudportError, asCloudportError } from '../shared/errors.js';
import { backoffMs, sleep, type RetryPolicy } from './retry.js';

export interface Downloaded {
  sha256: string;
  size: number;
  content_type: string;
  etag: string | null;
  version: string;
  tempPath: string;
}

export interface DownloadOptions {
  retry: RetryPolicy;
  /** A body that delivers no byte for this long is abandoned and resumed. */
  idleTimeoutMs: number;
  signal: AbortSignal;
  onRetry?: (e: CloudportError, attempt: number) => void;
}

/** Objects up to this size are collected in memory and written with one call (no write stream). */
const SMALL_OBJECT = 1024 * 1024;

/** Where downloaded bytes go before the blob is committed. */
interface Sink {
  path: string;
  write(chunk: Buffer): void | Promise<void>;
  finish(): Promise<void>;
  discard(): Promise<void>;
}

async function fileSink(blobs: BlobStore): Promise<Sink> {
  const t = await blobs.createTemp();
  return {
    path: t.path,
    write: (chunk) => (t.stream.write(chunk) ? undefined : once(t.stream, 'drain').then(() => undefined)),
    async finish() {
      t.stream.end();
      await once(t.stream, 'close');
    },
    async discard() {
      t.stream.destroy();
      await blobs.discard(t.path);
    },
  };
}

/** Bounded: a body that grows past `limit` is a changed object (conflict), and the download restarts. */
function memorySink(blobs: BlobStore, limit: number): Sink {
  const path = blobs.tempPath();
  const chunks: Buffer[] = [];
  let n = 0;
  return {
    path,
    write(chunk) {
      n += chunk.length;
      if (n > limit) throw new CloudportError('conflict', 'the object grew while it was being read', { temporary: true });
      chunks.push(chunk);
    },
    finish: () => fsp.writeFile(path, Buffer.concat(chunks, n), { flag: 'wx', mode: 0o600 }),
    discard: () => blobs.discard(path),
  };
}

/**
 * Streams one object into a temp file while hashing it (bounded memory: one chunk at a time with
 * backpressure; objects up to 1 MiB are gathered and written in one call). A cut or stalled body is
 * resumed with a ranged read pinned to the same version; a changed object restarts from byte 0; the
 * length is verified before the caller commits.
 */
export async function downloadObject(provider: StorageProvider, blobs: BlobStore, key: string, opts: DownloadOptions): Promise<Downloaded> {
  let sink: Sink | null = null;
  let hash = createHash('sha256');
  let written = 0;
  let size = -1;
  let version = '';
  let etag: string | null = null;
  let contentType = 'application/octet-stream';
  let failures = 0;
  const restart = async () => {
    await sink?.discard();
    sink = null;
    hash = createHash('sha256');
    written = 0;
    size = -1;
  };
  try {
    for (;;) {
      try {
        const resuming = written > 0 && provider.capabilities.rangedRead;
        if (written > 0 && !resuming) await restart();
        const r = await provider.read(key, { offset: written, ifVersion: resuming ? version : undefined, signal: opts.signal });
        if (!resuming) {
          size = r.size;
          version = r.version;
          etag = r.etag;
          if (r.content_type) contentType = r.content_type;
        }
        sink ??= size <= SMALL_OBJECT ? memorySink(blobs, size) : await fileSink(blobs);
        const copied = { n: 0 };
        try {
          await pump(r.body, sink, hash, opts.idleTimeoutMs, opts.signal, copied);
        } finally {
          written += copied.n;
        }
        if (written === size) break;
        if (written > size) throw new CloudportError('conflict', `object ${JSON.stringify(key)} delivered more bytes than its size (${written} > ${size})`, { temporary: true });
        throw new CloudportError('unexpected', `download of ${JSON.stringify(key)} ended at ${written} of ${size} bytes`, { temporary: true });
      } catch (e) {
        if (opts.signal.aborted) throw opts.signal.reason ?? e;
        const err = asCloudportError(e);
        // The object changed (or lied about its size): start again from byte 0 with a fresh hash.
        if (err.kind === 'conflict' || written > size) await restart();
        failures++;
        if (!err.temporary || failures >= opts.retry.attempts) throw err;
        opts.onRetry?.(err, failures);
        await sleep(backoffMs(failures - 1, opts.retry, err.retryAfter), opts.signal);
      }
    }
    const done = sink as Sink | null;
    if (!done) throw new CloudportError('unexpected', 'download finished without data');
    await done.finish();
    return { sha256: hash.digest('hex'), size, content_type: contentType, etag, version, tempPath: done.path };
  } catch (e) {
    await (sink as Sink | null)?.discard();
    throw e;
  }
}

/** Copies a body into the file and the hash, counting bytes in `copied` (kept when the body fails: the caller resumes after them). */
async function pump(
  body: NodeJS.ReadableStream & { destroy(e?: Error): void },
  out: Sink,
  hash: ReturnType<typeof createHash>,
  idleMs: number,
  signal: AbortSignal,
  copied: { n: number },
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => body.destroy(new CloudportError('unexpected', `no data received for ${Math.round(idleMs / 1000)} s`, { temporary: true })), idleMs);
  };
  const onAbort = () => body.destroy(new Error('aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  arm();
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      arm();
      hash.update(chunk);
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
