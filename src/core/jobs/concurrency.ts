import { performance } from 'node:perf_hooks';
import type { Logger } from '../../shared/log.js';

/** What the controller reads of the process: a clock (ms), and the event loop's busy share since the last call. */
export interface LoadMeter {
  now(): number;
  busy(): number;
}

function processMeter(): LoadMeter {
  let last = performance.eventLoopUtilization();
  return {
    now: () => performance.now(),
    busy() {
      const cur = performance.eventLoopUtilization();
      const u = performance.eventLoopUtilization(cur, last).utilization;
      last = cur;
      return u;
    },
  };
}

/**
 * How many files this process works at once when --workers is not given. On a nearby store a file's
 * slot is mostly work (bytes, hashing, the commit) and a few more slots add nothing; far away (a real
 * region: 10–50 ms before the first byte) a slot mostly waits, and files/s grows with the slots until
 * this process's main thread is busy. So the limit starts at `base` and doubles, up to `max`, while
 * three things hold over a window of finished files: slots spent at least half their time waiting for
 * the service's first byte, the event loop had room, and the last doubling raised files/s by 5% or
 * more (else it goes back and waits, longer after each doubling that did not help). It halves toward
 * `base` when waiting stops dominating, and when the service throttles (which counts as a doubling
 * that did not help).
 *
 * Only the files the limit is for count: the engine keeps large files, exports and reindexing to
 * `base` whatever the limit, reports none of them, and reports the slots they hold apart. Files/s is
 * read through Little's law: the other files' slots in use on average over the mean time one of them
 * holds a slot, for files started under the current limit only. Counting completions instead would
 * bill a doubling for the first slot-time after it, when the new slots have not finished anything yet.
 * A window in which those files used fewer than half the slots left to them (no files to start, or the
 * slots taken by files kept to `base`) is not judged: the limit is not what held them back, and a
 * doubling under way then goes back as one that did not help. After two minutes without a finished
 * file the controller starts again from `base`, forgetting its misses.
 */
/** A pause this long between two finished files makes the controller start again from `base` (see sample()). */
const FRESH_START_MS = 120_000;

export class AdaptiveConcurrency {
  private current: number;
  private n = 0;
  private slotMs = 0;
  private waitMs = 0;
  private t0: number;
  /** When the limit last changed: files started before it say nothing about the new one. */
  private since: number;
  /** Slots in use by the files the limit is for, and by files kept to `base`, since `at`. */
  private inUse = 0;
  private kept = 0;
  private at: number;
  /** Over the window (slot-milliseconds): slots in use by the files the limit is for, and the slots left to them. */
  private used = 0;
  private room = 0;
  /** The doubling being judged: the limit and files/s before it. */
  private probe: { from: number; rate: number } | null = null;
  /** Windows to wait before the next doubling. */
  private hold = 0;
  /** Doublings in a row that did not help (or drew throttling): each doubles the wait before the next (4 windows to 64). */
  private misses = 0;
  /** The first window after a change is not judged: the files started together at the change arrive together. */
  private settling = false;
  /** When the last file reported. */
  private lastSample: number;

  constructor(
    readonly base: number,
    readonly max: number,
    private readonly log?: Logger,
    private readonly meter: LoadMeter = processMeter(),
  ) {
    this.current = base;
    this.t0 = this.since = this.at = this.lastSample = meter.now();
  }

  get limit(): number {
    return this.current;
  }

  /** The engine's slots in use changed: `n` by files the limit is for, `kept` by files kept to `base`. */
  occupancy(n: number, kept = 0): void {
    const now = this.meter.now();
    this.used += this.inUse * (now - this.at);
    this.room += Math.max(0, this.current - this.kept) * (now - this.at);
    this.inUse = n;
    this.kept = kept;
    this.at = now;
  }

  /** A file gave its slot back: it held it from `started` for `slotMs`, of which `waitMs` waiting for the service's first byte. */
  sample(started: number, slotMs: number, waitMs: number): void {
    const gap = this.meter.now() - this.lastSample;
    this.lastSample += gap;
    // Nothing finished for a long while (the work ended, or only files kept to `base` ran): what was
    // learned is about another service or another load. Start again from `base`.
    if (gap > FRESH_START_MS && (this.current !== this.base || this.misses || this.hold)) {
      this.log?.debug('concurrency: starting again from the base after a pause', { limit: this.base, was: this.current });
      this.current = this.base;
      this.probe = null;
      this.misses = 0;
      this.hold = 0;
      this.changed();
    }
    if (started < this.since) return;
    this.n++;
    this.slotMs += slotMs;
    this.waitMs += Math.min(waitMs, slotMs);
    const now = this.meter.now();
    const elapsed = now - this.t0;
    // A window: enough files to smooth single slow ones out, and long enough for the event loop's share to mean something.
    if (this.n < Math.max(32, 2 * this.current) || elapsed < 200) return;
    this.occupancy(this.inUse, this.kept);
    const busySlots = this.used / elapsed;
    const idle = this.used < this.room / 2;
    const rate = (busySlots * 1000 * this.n) / this.slotMs;
    const waiting = this.slotMs > 0 ? this.waitMs / this.slotMs : 0;
    const busy = this.meter.busy();
    const before = this.current;
    this.reset();
    if (idle) {
      // A doubling the files could not use is a miss too: where only a few can run at once (one capped
      // connector, a sparse listing), trying again every other window would never stop.
      if (this.probe) {
        this.miss(this.probe.from);
        this.log?.debug('concurrency: a doubling went back unjudged (too few files to use it)', { limit: this.current, was: before });
      }
      return;
    }
    if (this.settling) {
      this.settling = false;
      return;
    }
    if (this.probe) {
      const p = this.probe;
      this.probe = null;
      if (rate < p.rate * 1.05) {
        this.miss(p.from);
        this.log?.debug('concurrency: more slots did not help', { limit: this.current, tried: before, files_per_s: Math.round(rate), before_files_per_s: Math.round(p.rate) });
        return;
      }
      this.misses = 0;
    }
    if (this.hold > 0) {
      this.hold--;
      return;
    }
    if (waiting >= 0.5 && busy < 0.9 && this.current < this.max) {
      this.probe = { from: this.current, rate };
      this.current = Math.min(this.max, this.current * 2);
    } else if (waiting < 0.25 && this.current > this.base) {
      this.current = Math.max(this.base, Math.ceil(this.current / 2));
    }
    if (this.current === before) return;
    this.changed();
    this.log?.debug('concurrency: limit changed', { limit: this.current, was: before, waiting: Number(waiting.toFixed(2)), event_loop: Number(busy.toFixed(2)), files_per_s: Math.round(rate) });
  }

  /**
   * The service asked to slow down (429/503) a request started at `started`. Above `base` the limit
   * halves and the next doubling waits as after one that did not help; at `base` nothing changes (a
   * throttle there is not ours to fix: the downloads back off on their own), so a rare 503 does not hold
   * the limit down for good. Requests started before the last change are the burst that change already
   * answered: one burst of 503s halves the limit once.
   */
  throttled(started = this.meter.now()): void {
    if (this.current <= this.base || started < this.since) return;
    const was = this.current;
    this.miss(Math.max(this.base, Math.ceil(this.current / 2)));
    this.log?.debug('concurrency: throttled', { limit: this.current, was });
  }

  /** A doubling that did not help, or drew throttling: back to `to`, and a longer wait before the next. */
  private miss(to: number): void {
    this.probe = null;
    this.current = to;
    this.hold = Math.max(this.hold, Math.min(64, 4 * 2 ** this.misses++));
    this.changed();
  }

  private changed(): void {
    this.since = this.meter.now();
    this.settling = true;
    this.reset();
  }

  private reset(): void {
    this.n = 0;
    this.slotMs = 0;
    this.waitMs = 0;
    this.occupancy(this.inUse, this.kept);
    this.used = 0;
    this.room = 0;
    this.t0 = this.meter.now();
    this.meter.busy();
  }
}
