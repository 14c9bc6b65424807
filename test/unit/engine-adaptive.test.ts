import { afterEach, describe, expect, it } from 'vitest';
import { JobEngine, type JobHandlers } from '../../src/core/jobs/engine.js';
import type { Store } from '../../src/store/types.js';
import { fakeJobStore as fakeStore, sleep, until, quietLog } from '../helpers/fake-job-store.js';

/**
 * The engine's side of adaptive concurrency (src/core/jobs/engine.ts) with a fake store, as in
 * engine-slots.test.ts. The limit is first raised the way it is in production: small files that spend
 * their whole slot waiting for the first byte (release(waitMs) with waitMs ≥ slot time), whose files/s
 * doubles with the slots. No durations are asserted; timeouts only bound the waits.
 */
const log = quietLog;
const MiB = 1024 * 1024;

let engine: JobEngine | null = null;
afterEach(async () => {
  await engine?.stop();
  engine = null;
});

/** An engine with adaptive concurrency (16 → 64) whose files behave as `kinds` says, by size and kind. */
function setup(slotMs = 10) {
  const store = fakeStore();
  const running = { now: 0, peak: 0, byKind: new Map<string, number>(), peakByKind: new Map<string, number>(), large: 0, peakLarge: 0, startedLarge: 0 };
  let done = 0;
  const handlers: JobHandlers = {
    async listNext() {},
    async onFinalized() {},
    async processFile(file, _owner, signal, release) {
      const kind = file.kind;
      running.now++;
      running.byKind.set(kind, (running.byKind.get(kind) ?? 0) + 1);
      running.peak = Math.max(running.peak, running.now);
      running.peakByKind.set(kind, Math.max(running.peakByKind.get(kind) ?? 0, running.byKind.get(kind)!));
      const large = (file.size ?? 0) > 8 * MiB || file.size === 0;
      if (large) {
        running.large++;
        running.startedLarge++;
        running.peakLarge = Math.max(running.peakLarge, running.large);
      }
      let holding = large;
      try {
        await sleep(slotMs);
        if (signal.aborted) return;
        if (kind === 'import') {
          // Small: the whole slot waited for the first byte; large: bytes moving, no waiting. (A released
          // file no longer holds a slot: the next may start before this one's finally runs.)
          if (holding) running.large--;
          holding = false;
          release(large ? 0 : 60_000);
        }
        // An export never calls release (ExportService.processFile takes no release at all).
      } finally {
        running.now--;
        running.byKind.set(kind, running.byKind.get(kind)! - 1);
        if (holding) running.large--;
        done++;
      }
    },
  };
  engine = new JobEngine(store as unknown as Store, handlers, { concurrency: 16, maxConcurrency: 64, leaseMs: 30_000, pollMs: 50, log });
  return { store, engine, running, done: () => done };
}

describe('engine with adaptive concurrency (16 up to 64)', () => {
  it('reaches 64 on small files that mostly wait (the premise of the next tests)', async () => {
    const { store, engine } = setup();
    store.add(20_000, { size: 64 * 1024 });
    engine.start();
    await until(() => engine.stats().concurrency === 64, 'the limit to reach 64');
    expect(engine.stats().concurrency).toBe(64);
  });

  it('large files (> 8 MiB) and files of size 0 keep to 16 at once whatever the limit, and few of them are claimed ahead', async () => {
    const { store, engine, running, done } = setup();
    store.add(20_000, { size: 64 * 1024 });
    engine.start();
    await until(() => engine.stats().concurrency === 64, 'the limit to reach 64');
    // The small files run out; large ones follow (and a few of size 0: a Drive document, read whole).
    store.pending.length = 0;
    store.add(200, { size: 0 });
    store.add(20_000, { size: 64 * MiB });
    const start = done();
    let ahead = 0;
    while (done() - start < 3000) {
      ahead = Math.max(ahead, store.claimedLarge - running.startedLarge);
      await sleep(5);
    }
    expect(running.peakLarge).toBeLessThanOrEqual(16);
    expect(running.peakLarge).toBeGreaterThan(8);
    // A fixed --workers 16 keeps at most 3 × 16 − 16 = 32 queued; the claim that shows the switch adds at most one round more.
    expect(ahead).toBeLessThanOrEqual(64);
  });

  it('exports (no release, up to 8 MiB buffered each) keep to 16 at once after imports raised the limit', async () => {
    const { store, engine, running, done } = setup();
    store.add(20_000, { size: 64 * 1024 });
    engine.start();
    await until(() => engine.stats().concurrency === 64, 'the limit to reach 64');
    store.pending.length = 0;
    // An export of 8 MiB items (SINGLE_WRITE_MAX: each is read whole into memory before its upload).
    store.add(5000, { size: 8 * MiB, kind: 'export' });
    const start = done();
    await until(() => done() - start >= 2000, '2000 exports');
    // Exports keep to 16 (an export holds up to 8 MiB in memory while it uploads), whatever the limit imports left.
    expect(running.peakByKind.get('export')).toBeLessThanOrEqual(16);
  });

  it('a claim slower than a slot time still lets files that wait for their first byte raise the limit', async () => {
    // Files wait the whole of their 20 ms slot for the first byte; a claim takes 40 ms, so the queue
    // runs dry for a moment in every claim cycle (20,000 files pending). Windows are judged by the slots
    // in use on average, not thrown away at the first free slot.
    const { store, engine, done } = setup(20);
    store.claimDelayMs = 40;
    store.add(20_000, { size: 64 * 1024 });
    engine.start();
    await until(() => done() >= 4000 || engine.stats().concurrency > 16, '4000 files or a raised limit');
    expect(engine.stats().concurrency).toBeGreaterThan(16);
  });
});
