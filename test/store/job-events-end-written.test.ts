/**
 * import_status {wait_seconds} answers "completed" only once the job's end is written: the engine runs
 * the handler's onFinalized (the "import completed: …" log line, the connector's health and
 * last_sync_at) and only then announces the end, to this process's waiters and, on PostgreSQL, to the
 * other processes'. (The delay added to recordHealth makes onFinalized as slow as a busy database would;
 * nothing here asserts a duration.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, DEFAULT_ORG } from '../../src/core/app.js';
import { pgSchema } from '../helpers/pg.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

const one = pgSchema('rvfin');

describe('long poll vs. the job end on PostgreSQL', () => {
  let env: S3Env;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-rvfin-'));
  const log = { info() {}, warn() {}, error() {}, debug() {} } as never;
  beforeAll(async () => {
    env = await startS3Env(['fin']);
    for (let i = 0; i < 2; i++) await env.s3.put('fin', `f${i}.txt`, `file ${i}`);
  });
  afterAll(async () => {
    await env.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a long poll in the process that ran the job answers after the end line and the connector sync are written', async () => {
    const app = await App.open({ dataDir: dir, databaseUrl: one.url(), readOnly: false, concurrency: 2, leaseMs: 30_000, pollMs: 3_600_000, idleTimeoutMs: 30_000, browseBudgetMs: 5000, retentionDays: 30, env: { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 3).toString('base64') }, log, hashThreads: 0 });
    const store = app.store as unknown as { recordHealth: (...a: unknown[]) => Promise<unknown> };
    const recordHealth = store.recordHealth.bind(store);
    store.recordHealth = async (...a) => {
      await new Promise((r) => setTimeout(r, 50));
      return recordHealth(...a);
    };
    try {
      app.start();
      const connector = await app.connectors.create(DEFAULT_ORG, env.connector('fin') as never);
      const early: string[] = [];
      for (let i = 0; i < 3; i++) {
        const started = await app.imports.start(DEFAULT_ORG, { connector_id: connector.id, index: `fin${i}` });
        const s = await app.jobs.waitForChange(DEFAULT_ORG, started.job_id!, 60, { limit: 0 }, new AbortController().signal);
        expect(s.status).toBe('completed');
        const { entries } = await app.jobs.logs(DEFAULT_ORG, { job_id: started.job_id!, limit: 100 });
        const last = entries[entries.length - 1]?.message ?? '';
        if (!last.startsWith('import completed')) early.push(`${started.job_id}: last log line ${JSON.stringify(last)}`);
        const c = await app.store.getConnector(DEFAULT_ORG, connector.id);
        if (!(c!.last_sync_at && c!.last_sync_at >= s.finished_at!)) early.push(`${started.job_id}: connector last_sync_at ${c!.last_sync_at} before the job's end ${s.finished_at}`);
      }
      expect(early, 'long polls answered "completed" before onFinalized wrote the job end').toEqual([]);
    } finally {
      await app.close();
    }
  });
});
