/**
 * A job end that meets a busy database (SQLite's SQLITE_BUSY, "database is locked": another process
 * holds the write lock past busy_timeout, as processes sharing one data dir can; PostgreSQL's statement
 * or lock timeouts alike) is not dropped: the job stays unended and a later tick writes its end line
 * and its connector's outcome.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { App, DEFAULT_ORG } from '../../src/core/app.js';
import { newJobRow } from '../../src/core/jobs/common.js';
import { until } from '../helpers/cloudport.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const log = { info() {}, warn() {}, error() {}, debug() {} } as never;

describe('a job end that met a busy database', () => {
  it('is written at a later tick, not dropped (SQLITE_BUSY is the store\'s, and passes)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-review-endbusy-'));
    dirs.push(dir);
    const app = await App.open({ dataDir: dir, readOnly: false, concurrency: 1, leaseMs: 3000, pollMs: 50, idleTimeoutMs: 30_000, browseBudgetMs: 5000, retentionDays: 30, env: { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }, log, hashThreads: 0 } as never);
    const sqlite = (app.store as unknown as { db: Database.Database }).db;
    sqlite.pragma('busy_timeout = 200'); // the default 10 s, shortened for the test
    const dbFile = sqlite.name;
    const id = 'imp_reviewendbusy';
    // The first end line meets the write lock held by another connection (another process on the data dir).
    const store = app.store as unknown as { addLog: (e: { message: string }) => Promise<void> };
    const addLog = store.addLog.bind(store);
    let busy = 0;
    store.addLog = async (e) => {
      if (/^import completed/.test(e.message) && busy === 0) {
        const other = new Database(dbFile);
        other.exec('BEGIN IMMEDIATE');
        try {
          return await addLog(e);
        } catch (err) {
          busy++;
          throw err;
        } finally {
          other.exec('ROLLBACK');
          other.close();
        }
      }
      return addLog(e);
    };
    try {
      // A job whose listing is done with nothing pending: the next tick finalizes it.
      await app.store.createJob(newJobRow({ id, org: DEFAULT_ORG, kind: 'import', connectorId: 'con_gone', index: 'i', params: {}, listingState: null, complete: true, now: new Date().toISOString() }), []);
      app.start();
      await until('the job final and counted as ended', async () => {
        const j = await app.store.getJob(DEFAULT_ORG, id);
        return j?.status === 'completed' && j.ended === 1;
      }, 15_000);
      expect(busy, 'the first end line met SQLITE_BUSY').toBe(1);
      const lines = (await app.jobs.logs(DEFAULT_ORG, { job_id: id, limit: 100 })).entries.filter((e) => /^import completed/.test(e.message));
      expect(lines.length, 'the job counts as ended, so import_logs must hold its end line').toBe(1);
    } finally {
      await app.close();
    }
  });
});
