/**
 * An import_status long poll in a front door (--workers 0) answers "completed" for a job a worker process
 * finished only once that worker has written the job's end (the "import completed: …" log line, the
 * connector's last_sync_at): the job is final in the store before that, and the front door's polls see
 * it so, but they wait for the end. The worker's onFinalized is held here by a gate on recordHealth (a
 * busy database).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, DEFAULT_ORG } from '../../src/core/app.js';
import { pgSchema } from '../helpers/pg.js';
import { sleep, until } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

const db = pgSchema('rvlpx');

describe('long poll in a front door vs. the end written by a worker', () => {
  let env: S3Env;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-rvlpx-'));
  const log = { info() {}, warn() {}, error() {}, debug() {} } as never;
  const base = { dataDir: dir, databaseUrl: db.url(), readOnly: false, leaseMs: 30_000, idleTimeoutMs: 30_000, browseBudgetMs: 5000, retentionDays: 30, env: { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 5).toString('base64') }, log, hashThreads: 0 };
  beforeAll(async () => {
    env = await startS3Env(['lpx']);
    for (let i = 0; i < 3; i++) await env.s3.put('lpx', `f${i}.txt`, `file ${i}`);
  });
  afterAll(async () => {
    await env.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('import_status {wait_seconds} on a --workers 0 front door answers "completed" only with the end line and last_sync_at visible', async () => {
    const front = await App.open({ ...base, concurrency: 0, pollMs: 250 });
    const worker = await App.open({ ...base, concurrency: 2, pollMs: 250 });
    // The worker's onFinalized is slow to record the connector's health (held until the long poll answered).
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const store = worker.store as unknown as { recordHealth: (...a: unknown[]) => Promise<unknown> };
    const recordHealth = store.recordHealth.bind(store);
    store.recordHealth = async (...a) => {
      await gate;
      return recordHealth(...a);
    };
    try {
      front.start();
      worker.start();
      const connector = await front.connectors.create(DEFAULT_ORG, env.connector('lpx') as never);
      const started = await front.imports.start(DEFAULT_ORG, { connector_id: connector.id, index: 'lpx' });
      const poll = front.jobs.waitForChange(DEFAULT_ORG, started.job_id!, 60, { limit: 0 }, new AbortController().signal);
      // The job is final in the store while its end waits behind the gate; the front door's polls (every
      // 500 ms) have seen it so a few times before the gate opens.
      await until('the job final in the store', async () => (await front.jobs.status(DEFAULT_ORG, started.job_id!, { limit: 0 })).status === 'completed');
      await sleep(1500);
      release();
      const s = await poll;
      const { entries } = await front.jobs.logs(DEFAULT_ORG, { job_id: started.job_id!, limit: 100 });
      const conn = await front.connectors.get(DEFAULT_ORG, connector.id);
      const last = entries[entries.length - 1]?.message ?? '';
      expect(s.status).toBe('completed');
      expect(last, 'long poll said "completed" but import_logs has no end line yet').toMatch(/^import completed/);
      expect(conn.last_sync_at, 'long poll said "completed" but get_connector shows no last sync').not.toBeNull();
    } finally {
      release();
      await worker.close();
      await front.close();
    }
  });
});
