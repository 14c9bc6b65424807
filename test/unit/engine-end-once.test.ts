/**
 * A finalizer whose onFinalized throws for a reason that is not the store's health (a lock held too long,
 * or a bug such as a TypeError) tries the end again at its next ticks, five times in all; then it logs
 * the error once and the job counts as ended: no tick runs onFinalized again and again, and long polls on
 * the job answer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite.js';
import { JobEngine } from '../../src/core/jobs/engine.js';
import { newJobRow } from '../../src/core/jobs/common.js';
import { until } from '../helpers/cloudport.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-rv-poison-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('onFinalized that throws a non-store error', () => {
  it('is tried a few times, then logged once and no more (not a loop on every tick)', async () => {
    const store = new SqliteStore(path.join(dir, 'cloudport.db'));
    const errors: string[] = [];
    const warnings: string[] = [];
    const log = { info() {}, warn: (m: string) => warnings.push(m), debug() {}, error: (m: string) => errors.push(m) } as never;
    let calls = 0;
    let ticks = 0;
    const finalizeJobs = store.finalizeJobs.bind(store);
    store.finalizeJobs = async (...a: Parameters<typeof finalizeJobs>) => {
      ticks++;
      return finalizeJobs(...a);
    };
    const engine = new JobEngine(
      store,
      {
        listNext: async () => undefined,
        processFile: async () => undefined,
        onFinalized: async () => {
          calls++;
          throw new TypeError("Cannot read properties of undefined (reading 'counts')");
        },
      },
      { concurrency: 1, leaseMs: 30_000, pollMs: 20, log },
    );
    // A job with its listing done and no file pending: the next tick finalizes it.
    await store.createJob(newJobRow({ id: 'imp_poison', org: 'default', kind: 'import', connectorId: 'con_x', index: 'i', params: {}, listingState: null, complete: true, now: new Date().toISOString() }), []);
    engine.start();
    try {
      await until('the job final', async () => (await store.getJob('default', 'imp_poison'))?.status === 'completed');
      await until('the job ended', async () => (await store.getJob('default', 'imp_poison'))?.ended === 1);
      const after = ticks;
      await until('20 more ticks', async () => ticks >= after + 20);
    } finally {
      await engine.stop();
      await store.close();
    }
    // Tried again a few times (a lock held too long passes), then logged once and counted as written.
    expect({ onFinalizedCalls: calls, retries: warnings.length, errorLines: errors.length }).toEqual({ onFinalizedCalls: 5, retries: 4, errorLines: 1 });
  });
});
