import { afterEach, describe, expect, it } from 'vitest';
import { JobEngine, type JobHandlers } from '../../src/core/jobs/engine.js';
import type { Store } from '../../src/store/types.js';
import { fakeJobStore as fakeStore, sleep, until, quietLog } from '../helpers/fake-job-store.js';

/**
 * The engine under adaptive concurrency with a mix of files (small ones that raise the limit, files of
 * size 0 and large ones that keep to 16), with a fake store that records every claim's size. The limit
 * is raised to 64 the way it is in production: small files that spend their whole slot waiting for the
 * first byte. No durations are asserted; timeouts only bound the waits.
 */
const log = quietLog;
const MiB = 1024 * 1024;
const SMALL = 64 * 1024;
const LARGE = 64 * MiB;

let engine: JobEngine | null = null;
afterEach(async () => {
  await engine?.stop();
  engine = null;
});

/**
 * An adaptive engine (16 up to 64). Small files hold their slot `smallMs`, all of it waiting for the
 * first byte; large ones (> 8 MiB) `largeMs`, moving bytes; size 0 / null (a Drive document: exported
 * whole inside provider.read) `smallMs`, all of it in provider.read, so all of it counts as waiting.
 */
function setup(smallMs = 10, largeMs = 40) {
  const store = fakeStore();
  const run = { small: 0, large: 0, done: 0, largeDone: 0 };
  const handlers: JobHandlers = {
    async listNext() {},
    async onFinalized() {},
    async processFile(file, _owner, signal, release) {
      const large = (file.size ?? 0) > 8 * MiB;
      if (large) run.large++;
      else run.small++;
      try {
        await sleep(large ? largeMs : smallMs);
        if (large) run.large--, run.largeDone++;
        else run.small--;
        if (!signal.aborted) release(large ? 0 : 60_000);
      } catch {
        // (stop)
      } finally {
        run.done++;
      }
    },
  };
  engine = new JobEngine(store as unknown as Store, handlers, { concurrency: 16, maxConcurrency: 64, leaseMs: 30_000, pollMs: 50, log });
  return { store, engine, run };
}

describe('engine with adaptive concurrency: a mix of small, size-0 and large files', () => {
  it('imports of size 0 (Drive documents: keep to 16, wait in provider.read) do not raise the limit they cannot use', async () => {
    const { store, engine, run } = setup();
    store.add(6000, { size: 0 });
    engine.start();
    let most = 0;
    while (run.done < 5000) {
      most = Math.max(most, engine.stats().concurrency);
      await sleep(2);
    }
    // No more than 16 of them can run whatever the limit: they report no samples, so the limit stays (a
    // doubling could only be judged a miss, and misses lengthen the wait before a useful one).
    expect(most).toBe(16);
  }, 60_000);

  it('at 64, with large files among the small ones, a claim still brings at least one round of 16', async () => {
    const { store, engine, run } = setup();
    store.add(20_000, { size: SMALL });
    engine.start();
    await until(() => engine.stats().concurrency === 64, 'the limit to reach 64');
    // One file in four is large (slower, keeps to 16). Thousands stay pending in the store throughout.
    store.pending.length = 0;
    for (let i = 0; i < 4000; i++) store.add(1, { size: i % 4 === 0 ? LARGE : SMALL });
    store.claims.length = 0;
    const start = run.done;
    await until(() => run.done - start >= 2000, '2000 files');
    const claims = store.claims.slice();
    expect(store.pending.length).toBeGreaterThan(1000);
    // A claim brings at least one round of 16, as a fixed --workers 16 does on the same work (a store
    // transaction every 10–20 small files, not one per file).
    expect(claims.filter((w) => w < 16)).toEqual([]);
  }, 60_000);

  it('at 64, the slots above 16 do not stand empty behind a run of large files while small ones wait in the store', async () => {
    const { store, engine, run } = setup(20, 400);
    store.add(20_000, { size: SMALL });
    engine.start();
    await until(() => engine.stats().concurrency === 64, 'the limit to reach 64');
    // 40 large files, then small ones (plenty, still far away). One process: nobody else takes them.
    store.pending.length = 0;
    store.add(40, { size: LARGE });
    store.add(20_000, { size: SMALL });
    let samples = 0;
    let empty = 0;
    while (run.largeDone < 40) {
      if (run.large >= 16) {
        samples++;
        if (run.small === 0) empty++;
      }
      await sleep(1);
    }
    // 16 large files run and 24 wait (under two rounds of 16): claims go on for the small ones behind
    // them, so the other 48 slots keep working.
    expect(samples).toBeGreaterThan(50);
    expect(empty / samples).toBeLessThan(0.05);
  }, 60_000);
});
