import { describe, expect, it } from 'vitest';
import { AdaptiveConcurrency } from '../../src/core/jobs/concurrency.js';

/**
 * The controller against modeled services on a virtual clock: files finish at the rate the model's
 * slot time allows (slots in use / slot), each reporting when it started, how long it held its slot and
 * how long of that it waited for the first byte. Every slot is in use unless `inUse` says otherwise.
 */
function harness(busy = 0.5) {
  let now = 0;
  const c = new AdaptiveConcurrency(16, 64, undefined, { now: () => now, busy: () => busy });
  const seen: number[] = [];
  /** File numbers at which the limit went up. */
  const raises: number[] = [];
  let files = 0;
  /** Runs `n` completions under `model` (slot and wait time for the current limit); `before` runs ahead of each. */
  const run = (n: number, model: (limit: number) => { slot: number; wait: number }, inUse = (limit: number) => limit, before?: () => void) => {
    for (let i = 0; i < n; i++) {
      const { slot, wait } = model(c.limit);
      c.occupancy(inUse(c.limit));
      now += slot / inUse(c.limit);
      before?.();
      const was = c.limit;
      c.sample(now - slot, slot, wait);
      files++;
      if (c.limit > was) raises.push(files);
      seen.push(c.limit);
    }
  };
  return { c, run, seen, raises, files: () => files, advance: (ms: number) => (now += ms) };
}

// A distant service: 30 ms a file, 25 of them before the first byte, whatever the number at once.
const distant = () => ({ slot: 30, wait: 25 });
// A nearby service on a busy machine: files/s is fixed, so a file's slot time grows with the slots.
const cpuBound = (limit: number) => ({ slot: limit * 0.7, wait: limit * 0.7 * 0.6 });

describe('adaptive concurrency', () => {
  it('doubles up to the ceiling while files mostly wait for a distant service', () => {
    const h = harness();
    h.run(2000, distant);
    expect(h.c.limit).toBe(64);
    expect(new Set(h.seen)).toEqual(new Set([16, 32, 64]));
  });

  it('goes back when more slots do not raise files/s, and stays near the base', () => {
    const h = harness();
    h.run(20_000, cpuBound);
    expect(Math.max(...h.seen)).toBe(32);
    // Each doubling that did not help waits longer before the next: few files run above the base.
    expect(h.seen.filter((l) => l === 16).length).toBeGreaterThan(h.seen.length * 0.85);
  });

  it('does not grow when slots do not mostly wait, or when the event loop is busy', () => {
    const near = harness();
    near.run(2000, () => ({ slot: 5, wait: 1 }));
    expect(Math.max(...near.seen)).toBe(16);
    const busy = harness(0.95);
    busy.run(2000, distant);
    expect(Math.max(...busy.seen)).toBe(16);
  });

  it('does not judge windows in which most slots stood free (no files, or only files that keep to the base)', () => {
    const h = harness();
    h.run(2000, distant, (limit) => limit / 4);
    expect(Math.max(...h.seen)).toBe(16);
  });

  it('halves back toward the base when waiting stops dominating, and when throttled', () => {
    const h = harness();
    h.run(2000, distant);
    expect(h.c.limit).toBe(64);
    h.run(2000, () => ({ slot: 200, wait: 5 }));
    expect(h.c.limit).toBe(16);
    const t = harness();
    t.run(2000, distant);
    t.c.throttled();
    expect(t.c.limit).toBe(32);
    // No doubling for a while after a throttle.
    t.run(300, distant);
    expect(t.c.limit).toBe(32);
    t.c.throttled();
    t.c.throttled();
    expect(t.c.limit).toBe(16);
    // At the base a throttle changes nothing: the downloads back off on their own.
    const b = harness();
    b.c.throttled();
    b.run(2000, distant);
    expect(b.c.limit).toBe(64);
  });

  it('a throttle does not shorten the wait that doublings which did not help earned', () => {
    const h = harness();
    h.run(60_000, cpuBound);
    const r = h.raises;
    expect(r.length).toBeGreaterThan(5);
    const lastGap = r[r.length - 1]! - r[r.length - 2]!;
    // From just after a revert (back at the base, the long wait running) …
    while (h.c.limit === 16) h.run(1, cpuBound);
    while (h.c.limit !== 16) h.run(1, cpuBound);
    const count = h.raises.length;
    const at = h.files();
    // … a throttle at the base changes nothing, and the next doubling still waits as long.
    h.c.throttled();
    h.run(lastGap, cpuBound);
    const next = h.raises.slice(count)[0];
    expect(next === undefined ? Infinity : next - at).toBeGreaterThanOrEqual(lastGap * 0.8);
  });

  it('doublings that draw throttling are retried with a growing wait, like doublings that did not help', () => {
    // The service throttles once more than 16 requests are in flight (a shared quota, a small bucket partition).
    const h = harness();
    let atRaise = 0;
    h.run(100_000, distant, undefined, () => {
      if (h.c.limit > 16 && h.files() - atRaise > 10) h.c.throttled();
      if (h.c.limit === 16) atRaise = h.files();
    });
    const gaps = h.raises.slice(1).map((r, i) => r - h.raises[i]!);
    expect(h.raises.length).toBeLessThanOrEqual(25);
    expect(gaps[gaps.length - 1]!).toBeGreaterThan(2 * gaps[0]!);
  });

  it('a trickle of throttles (one file in 500) does not pin the process to the base', () => {
    const h = harness();
    h.run(50_000, distant, undefined, () => {
      if (h.files() % 500 === 499) h.c.throttled();
    });
    expect(Math.max(...h.seen.slice(500))).toBeGreaterThan(16);
  });

  it('a doubling judged long after it was made (the windows between had no work) is dropped', () => {
    const h = harness();
    while (h.c.limit === 16) h.run(1, distant);
    // The job ends right after the doubling; a minute later another job runs against a faster service,
    // whose files/s would pass for the doubling's gain: the doubling goes back instead.
    h.c.occupancy(0);
    h.advance(60_000);
    const at = h.seen.length;
    h.run(3000, () => ({ slot: 10, wait: 8 }));
    expect(h.seen.slice(at)).toContain(16);
  });

  it('one burst of throttled answers (every file in flight answered 503 at once) halves the limit once', () => {
    // S3's SlowDown for a prefix answers every request in flight; they all started before the halving,
    // so they say nothing about the halved limit.
    const h = harness();
    h.run(2000, distant);
    expect(h.c.limit).toBe(64);
    const started = h.advance(0) - 1;
    for (let i = 0; i < 64; i++) h.c.throttled(started);
    expect(h.c.limit).toBe(32);
  });

  it('a doubling that raises files/s on a slow, distant service is kept, however long its windows take', () => {
    // Files/s grows with the slots (pure latency); 75% of a 7 s slot waits for the first byte, so the
    // windows at 32 take about 35 s of files, none idle.
    for (const slot of [6000, 7000]) {
      const h = harness();
      h.run(3000, () => ({ slot, wait: slot * 0.75 }));
      expect({ slot, raises: h.raises.length, end: h.c.limit }).toEqual({ slot, raises: 2, end: 64 });
    }
  });

  it('a doubling the files cannot use (at most 12 can run at once) is retried with a growing wait, not every few windows', () => {
    // One connector capped at 12 against a distant service: a window at 16 doubles, the window at 32 has
    // too few files to use it; that counts as a miss, so the backoff (4, 8, … 64 windows) applies.
    const h = harness();
    h.run(50_000, distant, (limit) => Math.min(limit, 12));
    expect(h.raises.length).toBeLessThanOrEqual(40);
  });

  it('after two minutes without a finished file it starts again from the base, its misses forgotten', () => {
    // The first doubling of a distant job, after a CPU-bound job that earned a long wait, without and with a pause between.
    const firstRaise = (pauseMs: number) => {
      const h = harness();
      h.run(20_000, cpuBound);
      h.c.occupancy(0);
      h.advance(pauseMs);
      const at = h.files();
      h.run(5000, distant);
      return (h.raises.find((r) => r > at) ?? Infinity) - at;
    };
    const fresh = harness();
    fresh.run(5000, distant);
    const noPause = firstRaise(0);
    const paused = firstRaise(180_000);
    // (A restart skips the window after it, as after any change: about two windows.)
    expect(paused).toBeLessThanOrEqual(3 * fresh.raises[0]!);
    expect(noPause).toBeGreaterThan(paused);
  });
});
