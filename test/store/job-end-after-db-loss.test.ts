/**
 * A PostgreSQL connection lost while a worker writes a job's end does not lose that end: finalizeJobs
 * commits the job's final status with its end unwritten (ended = 0, leased to the finalizer); the end
 * ("import completed: …" line in import_logs, the connector's last_sync_at / health) is written by
 * onFinalized, and when that fails (a backend terminated, a failover, a network blip) the finalizer's
 * next tick writes it again once PostgreSQL answers (another process takes it once the lease lapses, if
 * the finalizer died). Here a lock on job_logs holds the worker's end-line INSERT, and exactly that
 * backend is terminated.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, DEFAULT_ORG } from '../../src/core/app.js';
import { pgSchema } from '../helpers/pg.js';
import { until } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';
import pg from 'pg';

const db = pgSchema('rvpgend');

describe('job end vs. a PostgreSQL connection loss', () => {
  let env: S3Env;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-rvpgend-'));
  const log = { info() {}, warn() {}, error() {}, debug() {} } as never;
  const base = { dataDir: dir, databaseUrl: db.url(), readOnly: false, leaseMs: 3000, pollMs: 250, idleTimeoutMs: 30_000, browseBudgetMs: 5000, retentionDays: 30, env: { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 6).toString('base64') }, log, hashThreads: 0 };
  beforeAll(async () => {
    env = await startS3Env(['pgend']);
    for (let i = 0; i < 3; i++) await env.s3.put('pgend', `f${i}.txt`, `file ${i}`);
  });
  afterAll(async () => {
    await env.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the "import completed" line and the connector sync are written once PostgreSQL answers again', async () => {
    const front = await App.open({ ...base, concurrency: 0 });
    const locker = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
    await locker.connect();
    let worker: App | null = null;
    try {
      front.start();
      const connector = await front.connectors.create(DEFAULT_ORG, env.connector('pgend') as never);
      const started = await front.imports.start(DEFAULT_ORG, { connector_id: connector.id, index: 'pgend' });
      const job = started.job_id!;
      // The start line is written; from now on job_logs takes no insert until the lock is released.
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${db.schema}.job_logs IN SHARE MODE`);
      worker = await App.open({ ...base, concurrency: 2 });
      worker.start();
      // The worker finished the job and waits to write its end line: that backend's connection is lost.
      const pid = await until('the end-line insert waiting on the lock', async () => {
        const r = await db.admin.query(`SELECT pid FROM pg_locks WHERE relation = '${db.schema}.job_logs'::regclass AND NOT granted`);
        return r.rows[0]?.pid as number | undefined;
      });
      expect((await front.jobs.status(DEFAULT_ORG, job, { limit: 0 })).status).toBe('completed');
      await db.admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await locker.query('COMMIT');
      // PostgreSQL answers again: the end is written (by this worker or another).
      let last = '';
      let synced: string | null = null;
      await until(
        'the end line and the sync',
        async () => {
          const { entries } = await front.jobs.logs(DEFAULT_ORG, { job_id: job, limit: 100 });
          last = entries[entries.length - 1]?.message ?? '';
          synced = (await front.connectors.get(DEFAULT_ORG, connector.id)).last_sync_at;
          return last.startsWith('import completed') && synced !== null;
        },
        15_000,
      ).catch(() => null);
      expect(last, 'import_logs of a completed job has no end line').toMatch(/^import completed/);
      expect(synced, 'get_connector never records the completed import').not.toBeNull();
    } finally {
      await locker.end().catch(() => {});
      await worker?.close();
      await front.close();
    }
  });
});
