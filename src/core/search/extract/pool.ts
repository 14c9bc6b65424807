import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../../shared/log.js';

/**
 * Text extraction on worker threads of its own: each worker has a heap limit, takes one file at a
 * time, and is terminated (and replaced) when a file outlives its time, so a stuck or hostile
 * document never blocks imports or grows the server's memory. Workers start on first use and stop
 * when idle.
 */

export type TextStatus = 'extracted' | 'truncated' | 'unsupported' | 'failed' | 'empty';

export interface Extracted {
  status: TextStatus;
  /** Why it is truncated, unsupported (the detected type) or failed (one line); null otherwise. */
  detail: string | null;
  text: string;
  /** pdf, docx, xlsx, html, xml, text or binary. */
  format: string;
  /** True when the text is not the item's own bytes (documents, markup): read_item reads the text. */
  derived: boolean;
}

export interface ExtractLimits {
  /** Bytes of text kept per item. */
  maxTextBytes: number;
  /** PDF pages read. */
  maxPages: number;
  /** Documents (PDF, DOCX, XLSX, HTML, XML) larger than this are not opened. */
  maxInputBytes: number;
  maxZipEntries: number;
  /** What a DOCX or XLSX may inflate to, by its zip directory. */
  maxInflatedBytes: number;
  /** Time per item. */
  timeoutMs: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = {
  maxTextBytes: 2 * 1024 * 1024,
  maxPages: 2000,
  maxInputBytes: 64 * 1024 * 1024,
  maxZipEntries: 10_000,
  maxInflatedBytes: 64 * 1024 * 1024,
  timeoutMs: 10_000,
};

/** A worker's heap (MiB): PDF.js and mammoth hold a document's structure in it. */
const HEAP_MB = 192;
/** What a new worker may take to start, on a loaded machine, before an item's own time runs. */
const STARTUP_MS = 30_000;
/** An idle worker stops after this long (a worker holds tens of MB). */
const IDLE_MS = 30_000;

const WORKER_FILE = new URL('./worker.mjs', import.meta.url);

interface Pending {
  id: number;
  input: { path: string; contentType: string; key: string };
  resolve: (r: Extracted) => void;
}

class ExtractWorker {
  readonly worker: Worker;
  current: Pending | null = null;
  /** The current item's format, once the worker has detected it. */
  private format: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  dead = false;

  constructor(
    private readonly limits: ExtractLimits,
    private readonly onFree: (w: ExtractWorker) => void,
    private readonly log: Logger | undefined,
  ) {
    // stdout: true keeps a library's console output off the process's stdout, the MCP channel.
    this.worker = new Worker(WORKER_FILE, { resourceLimits: { maxOldGenerationSizeMb: HEAP_MB, maxYoungGenerationSizeMb: 4 }, stdout: true, stderr: true });
    this.worker.stdout.resume();
    this.worker.stderr.on('data', (b: Buffer) => this.log?.debug('extraction worker output', { text: b.toString('utf8').slice(0, 500) }));
    this.worker.unref();
    this.worker.on('message', (m: { id: number; result: Extracted } | { id: number; started: true; format: string }) => {
      const p = this.current;
      if (!p || p.id !== m.id) return;
      if ('started' in m) {
        // The item's own time runs from here (the worker's start and a library's first load are not its doing).
        this.format = m.format;
        this.arm(this.limits.timeoutMs);
        return;
      }
      this.settle(m.result);
    });
    this.worker.on('error', (e) => this.die(e.message.includes('out of memory') || (e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' ? `the document needs more than ${HEAP_MB} MB to extract` : e.message));
    this.worker.on('exit', () => this.die('the extraction worker stopped'));
  }

  run(p: Pending): void {
    this.current = p;
    this.format = null;
    // Until the worker says the item started: its time, plus what a new worker takes to load.
    this.arm(this.limits.timeoutMs + STARTUP_MS);
    const { timeoutMs: _t, ...limits } = this.limits;
    this.worker.postMessage({ id: p.id, ...p.input, limits });
  }

  private arm(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.die(`extraction took longer than ${this.limits.timeoutMs / 1000} s`);
      void this.worker.terminate();
    }, ms);
  }

  private settle(r: Extracted): void {
    const p = this.current;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.current = null;
    p?.resolve(r);
    if (!this.dead) this.onFree(this);
  }

  private die(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    // A document's failure is said by read_item rather than its raw bytes shown; plain text stays readable as stored.
    const text = this.format === 'other';
    if (this.current) this.settle({ status: 'failed', detail: reason.slice(0, 300), text: '', format: text ? 'text' : (this.format ?? 'document'), derived: !text });
    this.onFree(this);
  }
}

export class ExtractPool {
  private readonly idle: ExtractWorker[] = [];
  private readonly busy = new Set<ExtractWorker>();
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS,
    private readonly size = Math.max(1, Math.min(4, (os.availableParallelism?.() ?? os.cpus().length) - 1)),
    private readonly log?: Logger,
  ) {}

  /** The text of a file (a temp file of an import or a copy of a blob); never throws. */
  extract(input: { path: string; contentType: string; key: string }): Promise<Extracted> {
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, input, resolve });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length) {
      let w = this.idle.pop();
      if (!w) {
        if (this.busy.size >= this.size) return;
        w = new ExtractWorker(this.limits, (x) => this.free(x), this.log);
      }
      this.busy.add(w);
      w.run(this.queue.shift()!);
    }
    this.scheduleIdleStop();
  }

  private free(w: ExtractWorker): void {
    this.busy.delete(w);
    if (!w.dead) this.idle.push(w);
    this.pump();
  }

  private scheduleIdleStop(): void {
    if (this.busy.size || !this.idle.length) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.stopIdle(), IDLE_MS);
    this.idleTimer.unref();
  }

  private async stopIdle(): Promise<void> {
    const ws = this.idle.splice(0);
    await Promise.all(ws.map((w) => w.worker.terminate()));
  }

  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const p of this.queue.splice(0)) p.resolve({ status: 'failed', detail: 'the server stopped', text: '', format: 'unknown', derived: false });
    const ws = [...this.idle.splice(0), ...this.busy];
    this.busy.clear();
    await Promise.all(ws.map((w) => w.worker.terminate()));
  }
}
