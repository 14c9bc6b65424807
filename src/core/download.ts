import { createHash } from 'node:crypto';
import { once } from 'node:events';
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

/**
 * Streams one object into a temp file while hashing it (bounded memory: one chunk at a time,
 * with backpressure). A cut or stalled body is resumed with a ranged read pinned to the same
 * version; a changed object restarts from byte 0; the length is verified before the caller commits.
 */
export async function downloadObject(provider: StorageProvider, blobs: BlobStore, key: string, opts: DownloadOptions): Promise<Downloaded> {
  let temp = await blobs.createTemp();
  let hash = createHash('sha256');
  let written = 0;
  let size = -1;
  let version = '';
  let etag: string | null = null;
  let contentType = 'application/octet-stream';
  let failures = 0;
  try {
    for (;;) {
      try {
        const resuming = written > 0 && provider.capabilities.rangedRead;
        if (written > 0 && !resuming) ({ temp, hash, written } = await restart(blobs, temp));
        const r = await provider.read(key, { offset: written, ifVersion: resuming ? version : undefined, signal: opts.signal });
        if (!resuming) {
          size = r.size;
          version = r.version;
          etag = r.etag;
          if (r.content_type) contentType = r.content_type;
        }
        const copied = { n: 0 };
        try {
          await pump(r.body, temp.stream, hash, opts.idleTimeoutMs, opts.signal, copied);
        } finally {
          written += copied.n;
        }
        if (written === size) break;
        if (written > size) throw new CloudportError('conflict', `object ${JSON.stringify(key)} delivered more bytes than its size (${written} > ${size})`, { temporary: true });
        throw new CloudportError('unexpected', `download of ${JSON.stringify(key)} ended at ${written} of ${size} bytes`, { temporary: true });
      } catch (e) {
        if (opts.signal.aborted) throw opts.signal.reason ?? e;
        const err = asCloudportError(e);
        if (err.kind === 'conflict' || written > size) {
          // The object changed (or lied about its size): start again from byte 0 with a fresh hash.
          ({ temp, hash, written } = await restart(blobs, temp));
          size = -1;
        }
        failures++;
        if (!err.temporary || failures >= opts.retry.attempts) throw err;
        opts.onRetry?.(err, failures);
        await sleep(backoffMs(failures - 1, opts.retry, err.retryAfter), opts.signal);
      }
    }
    temp.stream.end();
    await once(temp.stream, 'close');
    return { sha256: hash.digest('hex'), size, content_type: contentType, etag, version, tempPath: temp.path };
  } catch (e) {
    temp.stream.destroy();
    await blobs.discard(temp.path);
    throw e;
  }
}

async function restart(blobs: BlobStore, temp: { path: string; stream: import('node:fs').WriteStream }) {
  temp.stream.destroy();
  await blobs.discard(temp.path);
  return { temp: await blobs.createTemp(), hash: createHash('sha256'), written: 0 };
}

/** Copies a body into the file and the hash, counting bytes in `copied` (kept when the body fails: the caller resumes after them). */
async function pump(
  body: NodeJS.ReadableStream & { destroy(e?: Error): void },
  out: import('node:fs').WriteStream,
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
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } catch (e) {
    if (e instanceof CloudportError) throw e;
    throw new CloudportError('unexpected', `connection lost while downloading (${(e as Error).message})`, { temporary: true });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}
