import { afterEach, expect, it } from 'vitest';
import { JobEngine, type JobHandlers } from '../../src/core/jobs/engine.js';
import { LEASE_LAPSED, type Store } from '../../src/store/types.js';
import { fakeJobStore, quietLog, sleep, until } from '../helpers/fake-job-store.js';

/**
 * Files whose last holder died while working on them (LEASE_LAPSED) run alone: each is marked in the
 * store first, nothing else is in flight while it runs, no claim is made meanwhile, and a claim keeps
 * one of them and hands the others back at once. A fake store in memory; no durations are asserted.
 */
let engine: JobEngine | null = null;
afterEach(async () => {
  await engine?.stop();
  engine = null;
});

it('a file whose last holder died runs with nothing beside it, marked first; a claim keeps one such file and hands the rest back; every file runs once', async () => {
  const store = fakeJobStore();
  store.add(4, { size: 1000 });
  store.add(3, { size: 1000, error: LEASE_LAPSED });
  store.add(10, { size: 1000 });
  store.add(1, { size: 1000, error: LEASE_LAPSED });
  store.add(10, { size: 1000 });
  const suspects = new Set(store.pending.filter((f) => f.error === LEASE_LAPSED).map((f) => f.id));
  const inFlight = new Set<number>();
  const runs: number[] = [];
  const besideAlone: string[] = [];
  let aloneNow: number | null = null;
  let claimsWhileAlone = 0;
  const claim = store.claimFiles.bind(store);
  store.claimFiles = async (...a: Parameters<typeof claim>) => {
    if (aloneNow !== null) claimsWhileAlone++;
    return claim(...a);
  };
  const handlers: JobHandlers = {
    async listNext() {},
    async onFinalized() {},
    async processFile(file, _o, signal, release) {
      runs.push(file.id);
      if (aloneNow !== null) besideAlone.push(`${file.id} started beside ${aloneNow}`);
      if (suspects.has(file.id)) {
        if (inFlight.size) besideAlone.push(`${file.id} started beside ${[...inFlight]}`);
        expect(store.alone).toContain(file.id);
        aloneNow = file.id;
      }
      inFlight.add(file.id);
      await sleep(3);
      if (!signal.aborted) release(1);
      // Landing: a released file still holds its process (it could still take it down).
      await sleep(3);
      inFlight.delete(file.id);
      if (aloneNow === file.id) aloneNow = null;
    },
  };
  engine = new JobEngine(store as unknown as Store, handlers, { concurrency: 4, leaseMs: 30_000, pollMs: 20, log: quietLog });
  engine.start();
  await until(() => runs.length >= 28, '28 files run');
  await sleep(50);
  expect(besideAlone).toEqual([]);
  expect(claimsWhileAlone).toBe(0);
  expect([...runs].sort((a, b) => a - b)).toEqual(Array.from({ length: 28 }, (_, i) => i + 1));
  expect([...store.alone].sort((a, b) => a - b)).toEqual([...suspects].sort((a, b) => a - b));
  // The first claim brought files 5–7: it kept 5 and handed 6 and 7 back.
  expect(store.handedBack.slice(0, 2)).toEqual([6, 7]);
});

it('a mark the store refuses (SQLite rejects at once) is tried again at a later tick, not in a loop that keeps the event loop from turning', async () => {
  const store = fakeJobStore();
  store.add(1, { size: 1000, error: LEASE_LAPSED });
  let marks = 0;
  let marksBeforeATimerRan = -1;
  store.markAlone = (() => {
    marks++;
    if (marks > 20_000) return Promise.resolve(false);
    return Promise.reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }));
  }) as never;
  const handlers: JobHandlers = { async listNext() {}, async onFinalized() {}, async processFile() {} };
  engine = new JobEngine(store as unknown as Store, handlers, { concurrency: 4, leaseMs: 30_000, pollMs: 200, log: quietLog });
  setTimeout(() => (marksBeforeATimerRan = marks), 0);
  engine.start();
  await sleep(500);
  expect(marksBeforeATimerRan).toBeGreaterThanOrEqual(0);
  expect(marksBeforeATimerRan).toBeLessThan(10);
  expect(marks).toBeLessThan(10);
});

it('when handing back the extra files to run alone fails, the claim\'s files all stay queued and run (those to run alone, alone)', async () => {
  const store = fakeJobStore();
  store.add(2, { size: 1000, error: LEASE_LAPSED });
  store.add(3, { size: 1000 });
  let fails = 1;
  const release = store.releaseLeases.bind(store);
  store.releaseLeases = async (o: string, ids?: number[]) => {
    if (ids && fails-- > 0) throw new Error('connection reset');
    return release(o, ids);
  };
  const runs: number[] = [];
  const inFlight = new Set<number>();
  const beside: string[] = [];
  const handlers: JobHandlers = {
    async listNext() {},
    async onFinalized() {},
    async processFile(f) {
      runs.push(f.id);
      if (f.error === LEASE_LAPSED && inFlight.size) beside.push(`${f.id} beside ${[...inFlight]}`);
      inFlight.add(f.id);
      await sleep(3);
      inFlight.delete(f.id);
    },
  };
  engine = new JobEngine(store as unknown as Store, handlers, { concurrency: 4, leaseMs: 30_000, pollMs: 20, log: quietLog });
  engine.start();
  await until(() => runs.length >= 5, 'five files run');
  expect([...runs].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
  expect(beside).toEqual([]);
  expect(store.alone.sort()).toEqual([1, 2]);
});
