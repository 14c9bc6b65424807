/**
 * An idle engine polls less and less often (each periodic tick that finds nothing doubles the wait, up
 * to four poll intervals), so a server with nothing to do makes few store transactions; a poll still
 * finds work nobody woke it for (a job written by another process), and wake() ticks at once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite.js';
import { JobEngine } from '../../src/core/jobs/engine.js';
import { newJobRow } from '../../src/core/jobs/common.js';
import { sleep, until } from '../helpers/cloudport.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-engine-idle-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('an idle engine', () => {
  it('polls less often while nothing happens, still finds work by polling, and ticks at once when woken', async () => {
    const store = new SqliteStore(path.join(dir, 'cloudport.db'));
    const log = { info() {}, warn() {}, debug() {}, error() {} } as never;
    let ticks = 0;
    const finalizeJobs = store.finalizeJobs.bind(store);
    store.finalizeJobs = async (...a: Parameters<typeof finalizeJobs>) => {
      ticks++;
      return finalizeJobs(...a);
    };
    const finalized: string[] = [];
    const engine = new JobEngine(
      store,
      { listNext: async () => undefined, processFile: async () => undefined, onFinalized: async (job) => void finalized.push(job.id) },
      { concurrency: 1, leaseMs: 30_000, pollMs: 50, log },
    );
    engine.start();
    try {
      await until('the first tick', async () => ticks > 0);
      const t0 = Date.now();
      const before = ticks;
      await sleep(1500);
      const elapsed = Date.now() - t0;
      // At one tick per 50 ms that would be 30; backing off to 200 ms between ticks leaves about 10.
      // (A slower machine only makes fewer.)
      expect(ticks - before).toBeLessThanOrEqual(Math.ceil(elapsed / 200) + 3);

      // A job written behind the engine's back (as another process would): a poll finds and ends it.
      await store.createJob(newJobRow({ id: 'imp_idle', org: 'default', kind: 'import', connectorId: 'con_x', index: 'i', params: {}, listingState: null, complete: true, now: new Date().toISOString() }), []);
      await until('the job finalized by a poll', async () => finalized.includes('imp_idle'));

      // wake() does not wait for the backed-off poll.
      await sleep(1000);
      const quiet = ticks;
      engine.wake();
      await until('a tick after wake()', async () => ticks > quiet, 5000);
    } finally {
      await engine.stop();
      await store.close();
    }
  });
});
