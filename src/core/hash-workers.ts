import fsp from 'node:fs/promises';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * Hashing and writing downloads on worker threads: the SHA-256 (and MD5, when the provider's ETag
 * is one) of every byte and the temp-file writes run beside the main thread, which keeps only the
 * HTTP and the store. On a small file that moves the hashes and three file-system calls off the
 * event loop; on a large one it lets hashing and disk writes overlap the network.
 */

export interface Digests {
  sha256: string;
  /** base64, when asked for */
  md5?: string;
  size: number;
}

/** A file-system error from the worker, with its errno code (diskError words it). */
export class SinkError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

type Reply = { id: number; ack?: number; digests?: Digests; error?: { message: string; code?: string }; buf?: ArrayBuffer };

/** The worker's code: plain JavaScript run with `eval` (CommonJS), so it works from src/ (tests) and dist/ alike. */
function workerMain(req: (m: string) => unknown): void {
  const { parentPort } = req('node:worker_threads') as typeof import('node:worker_threads');
  const crypto = req('node:crypto') as typeof import('node:crypto');
  const fs = req('node:fs') as typeof import('node:fs');
  type Open = { fd: number; path: string; sha: import('node:crypto').Hash; md5: import('node:crypto').Hash | null; size: number; error: { message: string; code?: string } | null };
  const open = new Map<number, Open>();
  const fail = (e: unknown) => ({ message: (e as Error).message, code: (e as NodeJS.ErrnoException).code });
  const writeAll = (fd: number, b: Uint8Array) => {
    for (let off = 0; off < b.length; ) off += fs.writeSync(fd, b, off, b.length - off);
  };
  parentPort!.on('message', (m: { op: string; id: number; path?: string; md5?: boolean; buf?: ArrayBuffer; len?: number }) => {
    try {
      if (m.op === 'whole') {
        const b = new Uint8Array(m.buf!, 0, m.len);
        try {
          const sha = crypto.createHash('sha256').update(b).digest('hex');
          const md5 = m.md5 ? crypto.createHash('md5').update(b).digest('base64') : undefined;
          fs.writeFileSync(m.path!, b, { flag: 'wx', mode: 0o600 });
          // The buffer goes back with the answer, to be filled again (no garbage piles up here).
          parentPort!.postMessage({ id: m.id, digests: { sha256: sha, md5, size: b.length }, buf: m.buf }, [m.buf!]);
        } catch (e) {
          parentPort!.postMessage({ id: m.id, error: fail(e), buf: m.buf }, [m.buf!]);
        }
      } else if (m.op === 'open') {
        const s: Open = { fd: -1, path: m.path ?? '', sha: crypto.createHash('sha256'), md5: m.md5 ? crypto.createHash('md5') : null, size: 0, error: null };
        open.set(m.id, s);
        try {
          s.fd = fs.openSync(m.path!, 'wx', 0o600);
        } catch (e) {
          s.error = fail(e);
        }
      } else if (m.op === 'chunk') {
        const s = open.get(m.id)!;
        const b = new Uint8Array(m.buf!, 0, m.len);
        if (!s.error) {
          s.sha.update(b);
          s.md5?.update(b);
          s.size += b.length;
          try {
            writeAll(s.fd, b);
          } catch (e) {
            s.error = fail(e);
          }
        }
        // The first write error rides on the acks, so the download stops early instead of at finish.
        parentPort!.postMessage(s.error ? { id: m.id, ack: b.length, error: s.error, buf: m.buf } : { id: m.id, ack: b.length, buf: m.buf }, [m.buf!]);
      } else if (m.op === 'finish') {
        const s = open.get(m.id)!;
        open.delete(m.id);
        if (s.fd >= 0) fs.closeSync(s.fd);
        if (s.error) parentPort!.postMessage({ id: m.id, error: s.error });
        else parentPort!.postMessage({ id: m.id, digests: { sha256: s.sha.digest('hex'), md5: s.md5?.digest('base64'), size: s.size } });
      } else if (m.op === 'discard') {
        const s = open.get(m.id);
        open.delete(m.id);
        if (s && s.fd >= 0) fs.closeSync(s.fd);
        fs.rmSync(m.path!, { force: true });
        parentPort!.postMessage({ id: m.id, digests: { sha256: '', size: 0 } });
      }
    } catch (e) {
      parentPort!.postMessage({ id: m.id, error: fail(e) });
    }
  });
}

/**
 * Transfer buffers, reused: a chunk is copied into one (a socket's chunk may share memory with
 * Node's internals and is never detached), the worker hands it back with its answer, and it is
 * filled again. Sizes are powers of two from 64 KiB; a few of each are kept.
 */
class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  take(n: number): ArrayBuffer {
    let size = 64 * 1024;
    while (size < n) size *= 2;
    return this.free.get(size)?.pop() ?? new ArrayBuffer(size);
  }
  give(b: ArrayBuffer | undefined): void {
    if (!b || b.byteLength === 0) return;
    const list = this.free.get(b.byteLength) ?? [];
    if (list.length < (b.byteLength <= 64 * 1024 ? 64 : 4)) list.push(b);
    this.free.set(b.byteLength, list);
  }
  /** The chunks' bytes in one pooled buffer. */
  fill(chunks: readonly Buffer[], n: number): ArrayBuffer {
    const ab = this.take(n);
    const view = new Uint8Array(ab);
    let off = 0;
    for (const c of chunks) {
      view.set(c, off);
      off += c.length;
    }
    return ab;
  }
}

/** Bytes sent to a worker but not yet written, per stream, above which write() waits. */
const HIGH_WATER = 2 * 1024 * 1024;

class HashWorker {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (d: Digests) => void; reject: (e: Error) => void }>();
  private readonly acks = new Map<number, (n: number, error?: SinkError) => void>();
  private dead: Error | null = null;
  /** Streams and whole writes in flight (the pool picks the least busy worker). */
  load = 0;

  constructor(private readonly buffers: BufferPool) {
    this.worker = new Worker(`(${workerMain.toString()})(require)`, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 } });
    this.worker.unref();
    this.worker.on('message', (r: Reply) => {
      this.buffers.give(r.buf);
      if (r.ack !== undefined) return this.acks.get(r.id)?.(r.ack, r.error ? new SinkError(r.error.message, r.error.code) : undefined);
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (r.error) w.reject(new SinkError(r.error.message, r.error.code));
      else w.resolve(r.digests!);
    });
    const die = (e: Error) => {
      this.dead ??= e;
      for (const w of this.waiting.values()) w.reject(new SinkError(`hash worker stopped: ${e.message}`, undefined));
      this.waiting.clear();
      for (const a of this.acks.values()) a(Number.MAX_SAFE_INTEGER, new SinkError(`hash worker stopped: ${e.message}`, undefined));
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`exit code ${code}`)));
  }

  get alive(): boolean {
    return !this.dead;
  }

  request(msg: { op: string; id: number; path?: string; md5?: boolean; buf?: ArrayBuffer; len?: number }, transfer: ArrayBuffer[] = []): Promise<Digests> {
    if (this.dead) return Promise.reject(new SinkError(`hash worker stopped: ${this.dead.message}`, undefined));
    return new Promise<Digests>((resolve, reject) => {
      this.waiting.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg, transfer);
    });
  }

  post(msg: { op: string; id: number; path?: string; md5?: boolean; buf?: ArrayBuffer; len?: number }, transfer: ArrayBuffer[] = []): void {
    if (!this.dead) this.worker.postMessage(msg, transfer);
  }

  onAck(id: number, fn: ((n: number, error?: SinkError) => void) | null): void {
    if (fn) this.acks.set(id, fn);
    else this.acks.delete(id);
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/** A temp file being written and hashed on a worker, chunk by chunk (with backpressure). */
export interface HashedStream {
  write(chunk: Buffer): void | Promise<void>;
  /** Closes the file; its digests. A write error (ENOSPC…) surfaces here as a SinkError. */
  finish(): Promise<Digests>;
  discard(): Promise<void>;
}

export class HashWorkers {
  private workers: HashWorker[] = [];
  private nextId = 1;
  private readonly buffers = new BufferPool();

  constructor(private readonly size = Math.max(1, Math.min(4, (os.availableParallelism?.() ?? os.cpus().length) - 1))) {}

  private pick(): HashWorker {
    this.workers = this.workers.filter((w) => w.alive);
    if (this.workers.length < this.size) {
      const w = new HashWorker(this.buffers);
      this.workers.push(w);
      return w;
    }
    return this.workers.reduce((a, b) => (b.load < a.load ? b : a));
  }

  /** Hashes the chunks' bytes (`n` in all) and writes them to `path` (created, never overwritten) in one message. */
  async whole(path: string, chunks: readonly Buffer[], n: number, md5: boolean): Promise<Digests> {
    const w = this.pick();
    const buf = this.buffers.fill(chunks, n);
    w.load++;
    try {
      return await w.request({ op: 'whole', id: this.nextId++, path, md5, buf, len: n }, [buf]);
    } finally {
      w.load--;
    }
  }

  /** Opens `path` (created, never overwritten) for a stream of chunks. */
  stream(path: string, md5: boolean): HashedStream {
    const w = this.pick();
    const id = this.nextId++;
    const buffers = this.buffers;
    w.load++;
    let inflight = 0;
    let resume: (() => void) | null = null;
    let ended = false;
    let broken: SinkError | null = null;
    w.onAck(id, (n, error) => {
      inflight -= n;
      if (error) broken ??= error;
      if (resume && inflight < HIGH_WATER / 2) {
        const r = resume;
        resume = null;
        r();
      }
    });
    w.post({ op: 'open', id, path, md5 });
    const end = () => {
      if (ended) return false;
      ended = true;
      w.onAck(id, null);
      w.load--;
      return true;
    };
    return {
      write(chunk) {
        if (broken) throw broken;
        const buf = buffers.fill([chunk], chunk.length);
        inflight += chunk.length;
        w.post({ op: 'chunk', id, buf, len: chunk.length }, [buf]);
        if (inflight < HIGH_WATER) return;
        return new Promise<void>((r) => (resume = r));
      },
      async finish() {
        const done = w.request({ op: 'finish', id });
        end();
        return done;
      },
      async discard() {
        // Before finish the worker closes and removes the file (in order after its writes); after it, remove it here.
        if (end()) await w.request({ op: 'discard', id, path }).catch(() => undefined);
        else await fsp.rm(path, { force: true });
      },
    };
  }

  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
