import fsp from 'node:fs/promises';
import os from 'node:os';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';

/**
 * Hashing and writing downloads on worker threads: the SHA-256 (and MD5, when the provider's ETag
 * is one) of every byte and the temp-file writes run beside the main thread, which keeps only the
 * HTTP and the store. On a small file that moves the hashes and three file-system calls off the
 * event loop; on a large one it lets hashing and disk writes overlap the network. The bytes are
 * not copied on the way: a body chunk's ArrayBuffer moves to the worker (batched, up to 256 KiB a
 * message), so the main thread keeps no chunk garbage either.
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

type Reply = { id: number; ack?: number; digests?: Digests; error?: { message: string; code?: string } };
type Msg = { op: string; id: number; path?: string; md5?: boolean; bufs?: ArrayBuffer[] };

/**
 * The worker's code is a checked JavaScript module (`// @ts-check`, compiled along with the rest): it
 * runs as it is from src/ under the tests and from dist/ when installed, where a `.ts` worker could not
 * start on Node 20.
 */
const WORKER_FILE = new URL('./hash-worker.mjs', import.meta.url);

/** A hash worker's young generation (MiB): small, so that filling it (see workerMain) is cheap. */
const YOUNG_MB = 2;
/** Body bytes a worker receives between two scavenges (1 GiB: 79 MB of dead buffers without them, about 20 with them). */
const SCAVENGE_EVERY = 4 * 1024 * 1024;

/**
 * A chunk's bytes as an ArrayBuffer that can be moved to a worker. Node's HTTP bodies deliver each
 * chunk in an ArrayBuffer of its own (a socket read, or a copy the parser made), which moves as it
 * is: no copy, and no garbage left on the main thread. Any other chunk (a slice of a larger buffer,
 * such as a body's first bytes after the response head, or memory Node shares) is copied first, and
 * the buffer it was a view of dies here.
 */
function movable(chunk: Buffer): ArrayBuffer {
  const b = chunk.buffer;
  if (b instanceof ArrayBuffer && chunk.byteOffset === 0 && b.byteLength === chunk.length && chunk.length > 0) return b;
  const copy = new ArrayBuffer(chunk.length);
  new Uint8Array(copy).set(chunk);
  leftBehind(b.byteLength);
  return copy;
}

/** Bytes of buffers left to die on the main thread between two scavenges started here. */
const RECLAIM_EVERY = 8 * 1024 * 1024;
let left = 0;
let sink: number[] | null = null;

/**
 * Buffers that die on the main thread (mostly the socket read that carried a response head and a
 * small body's first bytes: one per small file) wait, like the worker's, for a GC that V8 starts only
 * after tens of MB of them. After every RECLAIM_EVERY bytes of them this fills what is left of the
 * young generation with short-lived arrays, so that V8 runs its scavenge now; it costs that
 * allocation, and the scavenge it would have run later anyway. Large bodies leave almost nothing
 * here (their chunks move whole), so this runs about once per 128 small files.
 */
function leftBehind(bytes: number): void {
  left += bytes;
  if (left < RECLAIM_EVERY) return;
  left = 0;
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  for (let n = (young?.space_available_size ?? 0) + 32768; n > 0; n -= 32768) sink = new Array<number>(4096).fill(0);
  sink = null;
}

/** Bytes sent to a worker but not yet written, per stream, above which write() waits. */
const HIGH_WATER = 2 * 1024 * 1024;
/** Chunks of a stream gathered into one message (one postMessage and one writev per batch). */
const BATCH = 256 * 1024;

class HashWorker {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (d: Digests) => void; reject: (e: Error) => void }>();
  private readonly acks = new Map<number, (n: number, error?: SinkError) => void>();
  private dead: Error | null = null;
  /** Streams and whole writes in flight (the pool picks the least busy worker). */
  load = 0;

  constructor() {
    this.worker = new Worker(WORKER_FILE, {
      workerData: { youngMb: YOUNG_MB, scavengeEvery: SCAVENGE_EVERY },
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB, maxOldGenerationSizeMb: 32 },
    });
    this.worker.unref();
    this.worker.on('message', (r: Reply) => {
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

  request(msg: Msg): Promise<Digests> {
    if (this.dead) return Promise.reject(new SinkError(`hash worker stopped: ${this.dead.message}`, undefined));
    return new Promise<Digests>((resolve, reject) => {
      this.waiting.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg, msg.bufs ?? []);
    });
  }

  post(msg: Msg): void {
    if (!this.dead) this.worker.postMessage(msg, msg.bufs ?? []);
  }

  onAck(id: number, fn: ((n: number, error?: SinkError) => void) | null): void {
    if (fn) this.acks.set(id, fn);
    else this.acks.delete(id);
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * A temp file being written and hashed on a worker, chunk by chunk (with backpressure). Chunks are
 * handed over: one that owns its whole ArrayBuffer moves to the worker, so the caller must not read
 * it after write() (a download's body chunks are read once, before).
 */
export interface HashedStream {
  write(chunk: Buffer): void | Promise<void>;
  /** Closes the file; its digests. A write error (ENOSPC…) surfaces here as a SinkError. */
  finish(): Promise<Digests>;
  discard(): Promise<void>;
}

export class HashWorkers {
  private workers: HashWorker[] = [];
  private nextId = 1;

  constructor(private readonly size = Math.max(1, Math.min(4, (os.availableParallelism?.() ?? os.cpus().length) - 1))) {}

  private pick(): HashWorker {
    this.workers = this.workers.filter((w) => w.alive);
    if (this.workers.length < this.size) {
      const w = new HashWorker();
      this.workers.push(w);
      return w;
    }
    return this.workers.reduce((a, b) => (b.load < a.load ? b : a));
  }

  /** Hashes the chunks' bytes and writes them to `path` (created, never overwritten) in one message; the chunks are handed over. */
  async whole(path: string, chunks: readonly Buffer[], md5: boolean): Promise<Digests> {
    const w = this.pick();
    const bufs = chunks.filter((c) => c.length).map(movable);
    w.load++;
    try {
      return await w.request({ op: 'whole', id: this.nextId++, path, md5, bufs });
    } finally {
      w.load--;
    }
  }

  /** Opens `path` (created, never overwritten) for a stream of chunks. */
  stream(path: string, md5: boolean): HashedStream {
    const w = this.pick();
    const id = this.nextId++;
    w.load++;
    let inflight = 0;
    let resume: (() => void) | null = null;
    let ended = false;
    let broken: SinkError | null = null;
    let batch: ArrayBuffer[] = [];
    let batched = 0;
    const flush = () => {
      if (!batch.length) return;
      w.post({ op: 'chunk', id, bufs: batch });
      batch = [];
      batched = 0;
    };
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
        if (!chunk.length) return;
        inflight += chunk.length;
        batched += chunk.length;
        batch.push(movable(chunk));
        if (batched >= BATCH) flush();
        if (inflight < HIGH_WATER) return;
        flush();
        return new Promise<void>((r) => (resume = r));
      },
      async finish() {
        flush();
        const done = w.request({ op: 'finish', id });
        end();
        return done;
      },
      async discard() {
        batch = [];
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
