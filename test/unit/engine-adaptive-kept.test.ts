import { afterEach, describe, expect, it } from 'vitest';
import { JobEngine, type JobHandlers } from '../../src/core/jobs/engine.js';
import type { Store } from '../../src/store/types.js';
import { fakeJobStore, sleep, until, quietLog } from '../helpers/fake-job-store.js';

/**
 * What bounds the files kept to 16 (imports over 8 MiB or of size 0) under adaptive concurrency,
 * against a fixed --workers 16 on the same work: in slots, held while they wait to land, and leased. The limit is raised to 64 the way it is
 * in production (small files whose slot is all waiting for the first byte). No durations are
 * asserted; timeouts only bound the waits.
 */
const log = quietLog;
const MiB = 1024 * 1024;
const LARGE = 64 * MiB;

let engine: JobEngine | null = null;
afterEach(async () => {
  await engine?.stop();
  engine = null;
});

/** Polls until `value()` has not changed for `quietMs` (a settle, not an assertion about time). */
async function settle(value: () => number, quietMs = 600, limitMs = 20_000): Promise<void> {
  const end = Date.now() + limitMs;
  let last = value();
  let since = Date.now();
  while (Date.now() < end) {
    await sleep(5);
    const v = value();
    if (v !== last) (last = v), (since = Date.now());
    else if (Date.now() - since >= quietMs) return;
  }
}

/**
 * Large files release their slot after `largeMs` (bytes on disk, text extracted) and then wait for
 * their landing (a shared S3 blob store uploading them, or a slow commit) until `landing` opens: each
 * holds its temp file (the whole object) and up to 2 MiB of extracted text meanwhile.
 */
function setup(workers: { concurrency: number; maxConcurrency?: number }, largeMs: number) {
  const store = fakeJobStore();
  const st = { largeHeld: 0, peakLargeHeld: 0, largeDone: 0, smallDone: 0, landingOpen: true };
  const handlers: JobHandlers = {
    async listNext() {},
    async onFinalized() {},
    async processFile(file, _o, signal, release) {
      const large = (file.size ?? 0) > 8 * MiB;
      if (!large) {
        await sleep(10);
        if (!signal.aborted) release(60_000);
        st.smallDone++;
        return;
      }
      st.largeHeld++;
      st.peakLargeHeld = Math.max(st.peakLargeHeld, st.largeHeld);
      try {
        await sleep(largeMs);
        if (signal.aborted) return;
        release(0);
        while (!st.landingOpen && !signal.aborted) await sleep(5);
        st.largeDone++;
      } finally {
        st.largeHeld--;
      }
    },
  };
  engine = new JobEngine(store as unknown as Store, handlers, { ...workers, leaseMs: 30_000, pollMs: 50, log });
  return { store, engine, st };
}

async function toCeiling(store: ReturnType<typeof fakeJobStore>, e: JobEngine) {
  store.add(20_000, { size: 64 * 1024 });
  e.start();
  await until(() => e.stats().concurrency === 64, 'the limit to reach 64');
  store.pending.length = 0;
}

describe('files kept to 16 under adaptive concurrency', () => {
  it('control: a fixed --workers 16 holds at most 32 large files (16 in slots, 16 released waiting to land)', async () => {
    const { store, engine, st } = setup({ concurrency: 16 }, 20);
    engine.start();
    st.landingOpen = false;
    store.add(400, { size: LARGE });
    await settle(() => st.peakLargeHeld);
    expect(st.peakLargeHeld).toBeLessThanOrEqual(32);
  }, 60_000);

  it('adaptive at 64: large files released while their landing waits are held no more than at a fixed 16 (2 × 16)', async () => {
    const { store, engine, st } = setup({ concurrency: 16, maxConcurrency: 64 }, 20);
    await toCeiling(store, engine);
    // From here on only large files: they report nothing, so no window closes and the limit stays at 64
    // for as long as they last (and after). fill() bounds files held by 2 × limit, and released kept
    // files no longer count in baseSlots: each release lets another large file start.
    st.landingOpen = false;
    store.add(400, { size: LARGE });
    await settle(() => st.peakLargeHeld);
    expect(engine.stats().concurrency).toBe(64);
    // As a fixed 16: at most 16 in slots and 16 more released (each a temp file of the whole object on
    // disk and up to 2 MiB of text in memory).
    expect(st.peakLargeHeld).toBeLessThanOrEqual(32);
  }, 60_000);

  /** Starts the engine and returns the most files it held or queued at once (leased) until 300 large files are done. */
  async function peakLeased(engine: JobEngine, st: { largeDone: number }): Promise<number> {
    engine.start();
    let peak = 0;
    while (st.largeDone < 300) {
      const s = engine.stats();
      peak = Math.max(peak, s.in_flight + s.queued);
      await sleep(1);
    }
    return peak;
  }

  it('control: a fixed --workers 16 with only large files leases at most three rounds (48)', async () => {
    const { store, engine, st } = setup({ concurrency: 16 }, 30);
    store.add(600, { size: LARGE });
    const peak = await peakLeased(engine, st);
    expect(peak).toBeLessThanOrEqual(48 + 2);
  }, 60_000);

  it('adaptive (even at 16): with only large files, one process leases no more of them than a fixed 16 does', async () => {
    // Once claims bring kept files only, they follow them as a fixed 16 does (at most 48 leased), so
    // other processes sharing the store get the files this one cannot start.
    const { store, engine, st } = setup({ concurrency: 16, maxConcurrency: 64 }, 30);
    store.add(600, { size: LARGE });
    const peak = await peakLeased(engine, st);
    expect(engine.stats().concurrency).toBe(16);
    expect(peak).toBeLessThanOrEqual(48 + 2);
  }, 60_000);
});
