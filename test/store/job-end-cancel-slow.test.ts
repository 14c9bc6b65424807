/**
 * A canceled job's end is leased to the canceling process's engine, which keeps the lease alive while it
 * writes the end: when that call is merely slow (a busy database: SQLite waits up to its 10 s
 * busy_timeout, a PostgreSQL pool under load), no tick, of this process or another, writes the end as
 * well: the job gets one "import canceled" end line. Here the worker is the canceling process's own
 * engine (a stdio server runs one), with a lease of 3 s.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { App, DEFAULT_ORG } from '../../src/core/app.js';
import { newJobRow } from '../../src/core/jobs/common.js';
import { until } from '../helpers/cloudport.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const log = { info() {}, warn() {}, error() {}, debug() {} } as never;
const config = (concurrency: number) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-review-endtwice-'));
  dirs.push(dir);
  return { dataDir: dir, readOnly: false, concurrency, leaseMs: 3000, pollMs: 50, idleTimeoutMs: 30_000, browseBudgetMs: 5000, retentionDays: 30, env: { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }, log, hashThreads: 0 } as never;
};
const endLines = async (app: App, id: string) => (await app.jobs.logs(DEFAULT_ORG, { job_id: id, limit: 100 })).entries.filter((e) => /^import canceled/.test(e.message));

describe('a canceled job\'s end', () => {
  it('is written once when the canceling call takes longer than its lease to write it', async () => {
    const app = await App.open(config(1));
    const id = 'imp_reviewendtwice';
    const job = newJobRow({ id, org: DEFAULT_ORG, kind: 'import', connectorId: 'con_gone', index: 'i', params: {}, listingState: null, complete: true, now: new Date().toISOString() });
    await app.store.createJob({ ...job, status: 'running' }, [{ key: 'a.txt', size: 1, etag: null, version: null }]);
    // The canceling call's end line is slow to write (the database busy); nothing fails.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const store = app.store as unknown as { addLog: (e: { message: string }) => Promise<void> };
    const addLog = store.addLog.bind(store);
    let first = true;
    store.addLog = async (e) => {
      if (/^import canceled/.test(e.message) && first) {
        first = false;
        await gate;
      }
      return addLog(e);
    };
    try {
      app.start();
      const canceling = app.jobs.cancel(DEFAULT_ORG, id);
      // Wait, well past the lease, for an end line written while the canceling call still writes its own.
      const tookOver = await until('an end line written while the canceling call is still writing its own', async () => (await endLines(app, id)).length > 0, 8_000).catch(() => false);
      release();
      await canceling;
      const lines = await endLines(app, id);
      expect({ tookOver, endLines: lines.length }, 'the canceling call was slow, not failed: the job\'s end must be written once').toEqual({ tookOver: false, endLines: 1 });
    } finally {
      release();
      await app.close();
    }
  });
});
