import { afterEach, describe, expect, it } from 'vitest';
import { JobEngine, type JobHandlers } from '../../src/core/jobs/engine.js';
import type { Store } from '../../src/store/types.js';
import { fakeJobStore, sleep, quietLog } from '../helpers/fake-job-store.js';

/**
 * Claims under adaptive concurrency with --connector-concurrency: files kept to 16 that cannot start
 * (their connector is at its cap) do not hold claims back, so another connector's files get the free
 * slots, as at a fixed --workers 16. The
 * store hands files out by id (ORDER BY f.id, as src/store/kysely/queue.ts) and honours
 * excludeConnectors, as the real one does. Connector A: a Drive folder of Google Docs (size 0, kept to
 * 16; each export takes a while), listed first; connector B: an S3 job of small files, listed after.
 * No durations are asserted: the check is an ordering (B makes progress before A's first file ends).
 */
const log = quietLog;

let engine: JobEngine | null = null;
afterEach(async () => {
  await engine?.stop();
  engine = null;
});

async function run(workers: { concurrency: number; maxConcurrency?: number }) {
  const s = fakeJobStore();
  s.add(60, { connector: 'drive', size: 0 }); // Google Docs: size 0, exported whole, keep to 16
  s.add(2000, { connector: 's3', size: 64 * 1024 });
  const seen = { aDone: 0, bDone: 0, bDoneWhenFirstADone: -1 };
  const handlers: JobHandlers = {
    async listNext() {},
    async onFinalized() {},
    async processFile(file, _o, signal, release) {
      const slow = file.connector_id === 'drive';
      await new Promise<void>((r) => {
        const t = setTimeout(r, slow ? 1500 : 5);
        signal.addEventListener('abort', () => (clearTimeout(t), r()));
      });
      if (signal.aborted) return;
      release(slow ? 1000 : 5);
      if (slow) {
        if (seen.aDone++ === 0) seen.bDoneWhenFirstADone = seen.bDone;
      } else seen.bDone++;
    },
  };
  engine = new JobEngine(s as unknown as Store, handlers, { ...workers, connectorConcurrency: 4, leaseMs: 30_000, pollMs: 50, log });
  engine.start();
  const end = Date.now() + 20_000;
  while (seen.aDone === 0 && Date.now() < end) await sleep(5);
  return seen;
}

describe('adaptive claims and --connector-concurrency', () => {
  it('control: a fixed --workers 16 gives the 12 slots the capped Drive connector cannot use to the S3 job', async () => {
    const seen = await run({ concurrency: 16 });
    expect(seen.bDoneWhenFirstADone).toBeGreaterThan(100);
  }, 30_000);

  it('adaptive (the default): the S3 job also gets the free slots while the Drive connector is at its cap', async () => {
    // The first claim brings 48 Drive documents (FIFO); 4 run (the cap), 44 wait: kept >= 2 * 16, so
    // adaptiveClaim makes no claim at all. 12 of 16 slots (60 of 64 at the ceiling) stand empty and the
    // S3 job does not start until 13 documents have finished, and this recurs each time the Drive queue
    // is refilled. The fixed path claims (ready = 0: the Drive files are not ready) with Drive excluded.
    const seen = await run({ concurrency: 16, maxConcurrency: 64 });
    expect(seen.bDoneWhenFirstADone).toBeGreaterThan(100);
  }, 30_000);
});
