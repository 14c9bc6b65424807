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
 * Files/s is read through Little's law: slots in use on average (the engine reports every change) over
 * the mean time a file holds one, for files started under the current limit only. Counting completions
 * instead would bill a doubling for the first slot-time after it, when the new slots have not finished
 * anything yet. A window in which fewer than half the slots were in use on average (no files to start,
 * or only files that keep to `base`) is not judged: the limit is not what held files back.
 */
/** A doubling not judged within this long is dropped (see sample()). */
const STALE_PROBE_MS = 30_000;

export class AdaptiveConcurrency {
  private current: number;
  private n = 0;
  private slotMs = 0;
  private waitMs = 0;
  private t0: number;
  /** When the limit last changed: files started before it say nothing about the new one. */
  private since: number;
  /** Slots in use since `at`, and their integral over the window (slot-milliseconds). */
  private inUse = 0;
  private at: number;
  private used = 0;
  /** The doubling being judged: the limit and files/s before it. */
  private probe: { from: number; rate: number } | null = null;
  /** Windows to wait before the next doubling. */
  private hold = 0;
  /** Doublings in a row that did not help (or drew throttling): each doubles the wait before the next (4 windows to 64). */
  private misses = 0;
  /** The first window after a change is not judged: the files started together at the change arrive together. */
  private settling = false;

  constructor(
    readonly base: number,
    readonly max: number,
    private readonly log?: Logger,
    private readonly meter: LoadMeter = processMeter(),
  ) {
    this.current = base;
    this.t0 = this.since = this.at = meter.now();
  }

  get limit(): number {
    return this.current;
  }

  /** The engine's slots in use changed to `n`. */
  occupancy(n: number): void {
    const now = this.meter.now();
    this.used += this.inUse * (now - this.at);
    this.inUse = n;
    this.at = now;
  }

  /** A file gave its slot back: it held it from `started` for `slotMs`, of which `waitMs` waiting for the service's first byte. */
  sample(started: number, slotMs: number, waitMs: number): void {
    if (started < this.since) return;
    this.n++;
    this.slotMs += slotMs;
    this.waitMs += Math.min(waitMs, slotMs);
    const now = this.meter.now();
    const elapsed = now - this.t0;
    // A window: enough files to smooth single slow ones out, and long enough for the event loop's share to mean something.
    if (this.n < Math.max(32, 2 * this.current) || elapsed < 200) return;
    this.occupancy(this.inUse);
    const busySlots = this.used / elapsed;
    const rate = (busySlots * 1000 * this.n) / this.slotMs;
    const waiting = this.slotMs > 0 ? this.waitMs / this.slotMs : 0;
    const busy = this.meter.busy();
    const before = this.current;
    this.reset();
    if (busySlots < this.current / 2) return;
    if (this.settling) {
      this.settling = false;
      return;
    }
    if (this.probe) {
      const p = this.probe;
      this.probe = null;
      // Judged long after the doubling (every window since was idle: a job ended, another began): its
      // files/s may be another service's. Go back without counting it against the next doubling.
      if (now - this.since > STALE_PROBE_MS) {
        this.current = p.from;
        this.changed();
        return;
      }
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
   * The service asked to slow down (429/503). Above `base` the limit halves and the next doubling
   * waits as after one that did not help; at `base` nothing changes (a throttle there is not ours to
   * fix: the downloads back off on their own), so a rare 503 does not hold the limit down for good.
   */
  throttled(): void {
    if (this.current <= this.base) return;
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
    this.occupancy(this.inUse);
    this.used = 0;
    this.t0 = this.meter.now();
    this.meter.busy();
  }
}
