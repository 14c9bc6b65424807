/**
 * A canceled job's end is written before a long poll answers, and written again if its writer failed,
 * as a finalized job's is: cancelJob leaves the job unended for the canceling call to write its end
 * ("import canceled: …" line), so an import_status long poll answers "canceled" once that line is
 * written, and when the canceling call's write fails (the database out of reach), a worker's tick
 * writes it once the canceling call's time is up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { App, DEFAULT_ORG } from '../../src/core/app.js';
import { newJobRow } from '../../src/core/jobs/common.js';
import { STORE_UNREACHABLE } from '../../src/store/types.js';
import { until } from '../helpers/cloudport.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const log = { info() {}, warn() {}, error() {}, debug() {} } as never;
const config = (concurrency: number) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-rv-endcancel-'));
  dirs.push(dir);
  return { dataDir: dir, readOnly: false, concurrency, leaseMs: 3000, pollMs: 50, idleTimeoutMs: 30_000, browseBudgetMs: 5000, retentionDays: 30, env: { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }, log, hashThreads: 0 } as never;
};
/** A running import job with one pending file (its connector need not exist: no engine works it here). */
async function pendingJob(app: App, id: string): Promise<void> {
  const job = newJobRow({ id, org: DEFAULT_ORG, kind: 'import', connectorId: 'con_gone', index: 'i', params: {}, listingState: null, complete: true, now: new Date().toISOString() });
  await app.store.createJob({ ...job, status: 'running' }, [{ key: 'a.txt', size: 1, etag: null, version: null }]);
}
const endLine = async (app: App, id: string) => (await app.jobs.logs(DEFAULT_ORG, { job_id: id, limit: 100 })).entries.find((e) => /^import canceled/.test(e.message));

describe('a canceled job\'s end', () => {
  it('an import_status long poll answers "canceled" only once the end line is written', async () => {
    const app = await App.open(config(0));
    const id = 'imp_rvcancelpoll';
    await pendingJob(app, id);
    // The canceling call's end line is slow to write (a busy database): held until the long poll answered.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const store = app.store as unknown as { addLog: (e: { message: string }) => Promise<void> };
    const addLog = store.addLog.bind(store);
    store.addLog = async (e) => {
      if (/^import canceled/.test(e.message)) await gate;
      return addLog(e);
    };
    try {
      let answeredWithLine: boolean | null = null;
      const poll = app.jobs.waitForChange(DEFAULT_ORG, id, 60, { limit: 0 }, new AbortController().signal).then(async (s) => {
        answeredWithLine = (await endLine(app, id)) !== undefined;
        return s;
      });
      const canceling = app.jobs.cancel(DEFAULT_ORG, id);
      // Either the poll answers (the bug) or it keeps waiting while the end is held; let the cancel's end through afterwards.
      await until('the job canceled in the store', async () => (await app.store.getJob(DEFAULT_ORG, id))?.status === 'canceled');
      await Promise.race([poll, new Promise((r) => setTimeout(r, 2000))]);
      release();
      const s = await poll;
      await canceling;
      expect(s.status).toBe('canceled');
      expect(answeredWithLine, 'the long poll said "canceled" before import_logs had the job\'s end line').toBe(true);
    } finally {
      release();
      await app.close();
    }
  });

  it('an end line the canceling call failed to write (store unreachable) is written by a later tick', async () => {
    const app = await App.open(config(1));
    const id = 'imp_rvcancellost';
    await pendingJob(app, id);
    const store = app.store as unknown as { addLog: (e: { message: string }) => Promise<void>; finalizeJobs: (...a: unknown[]) => Promise<unknown[]> };
    const addLog = store.addLog.bind(store);
    let refused = 0;
    store.addLog = async (e) => {
      if (/^import canceled/.test(e.message) && refused++ === 0) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: STORE_UNREACHABLE });
      return addLog(e);
    };
    let ticks = 0;
    const finalizeJobs = store.finalizeJobs.bind(store);
    store.finalizeJobs = async (...a) => {
      ticks++;
      return finalizeJobs(...a);
    };
    try {
      await app.jobs.cancel(DEFAULT_ORG, id);
      expect(refused).toBe(1);
      // The database answers again; the engine ticks, and once the canceling call's time is up (5 s), a
      // tick writes the end.
      app.start();
      await until('the end line', async () => endLine(app, id), 20_000);
      expect(ticks).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });
});
