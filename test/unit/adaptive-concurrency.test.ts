import { describe, expect, it } from 'vitest';
import { AdaptiveConcurrency } from '../../src/core/jobs/concurrency.js';

/**
 * The controller against modeled services on a virtual clock: files finish at the rate the model's
 * slot time allows (limit / slot), each reporting when it started, how long it held its slot and how
 * long of that it waited for the first byte.
 */
function harness(busy = 0.5) {
  let now = 0;
  const c = new AdaptiveConcurrency(16, 64, undefined, { now: () => now, busy: () => busy });
  const seen: number[] = [];
  /** Runs `files` completions under `model` (slot and wait time for the current limit). */
  const run = (files: number, model: (limit: number) => { slot: number; wait: number }, idle = false) => {
    for (let i = 0; i < files; i++) {
      const { slot, wait } = model(c.limit);
      now += slot / c.limit;
      if (idle) c.idle();
      c.sample(now - slot, slot, wait);
      seen.push(c.limit);
    }
  };
  return { c, run, seen, setBusy: (b: number) => (busy = b) };
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

  it('does not judge windows in which slots stood free for lack of files', () => {
    const h = harness();
    h.run(2000, distant, true);
    expect(Math.max(...h.seen)).toBe(16);
  });

  it('halves back toward the base when waiting stops dominating, and falls to it when throttled', () => {
    const h = harness();
    h.run(2000, distant);
    expect(h.c.limit).toBe(64);
    h.run(2000, () => ({ slot: 200, wait: 5 }));
    expect(h.c.limit).toBe(16);
    const t = harness();
    t.run(2000, distant);
    t.c.throttled();
    expect(t.c.limit).toBe(16);
    // No doubling for a while after a throttle.
    t.run(200, distant);
    expect(t.c.limit).toBe(16);
  });
});
