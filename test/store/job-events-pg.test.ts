/**
 * Job events on PostgreSQL (LISTEN/NOTIFY): processes sharing a store hear each other's new jobs as they
 * commit and ends as they are announced, only those of their own schema, and a listener whose connection dies listens
 * again and says `resync`. In two Apps on one schema, a worker whose poll is an hour away starts a job
 * the front door created, and the front door hears that job end, with no poll of either doing it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres.js';
import type { JobEvent, NewJob, Store } from '../../src/store/types.js';
import { App, DEFAULT_ORG } from '../../src/core/app.js';
import { pgSchema } from '../helpers/pg.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

const one = pgSchema('cpev');
const other = pgSchema('cpev_other');

const job = (id: string): NewJob => ({
  id, org_id: 'org_a', kind: 'import', connector_id: 'conn_1', index_name: 'idx', params: '{}', status: 'queued', listing_state: null,
  listing_complete: 1, lease_owner: null, lease_expires: 0, error: null, created_at: new Date().toISOString(),
});

/** Collects a watcher's events; `next(pred)` resolves with the first (past or coming) event that matches. */
function recorder(store: Store) {
  const events: JobEvent[] = [];
  const waits = new Set<() => void>();
  const stop = store.watchJobs!((e) => {
    events.push(e);
    for (const w of [...waits]) w();
  });
  const next = (pred: (e: JobEvent) => boolean) =>
    new Promise<JobEvent>((resolve) => {
      const look = () => {
        const hit = events.find(pred);
        if (hit) {
          waits.delete(look);
          resolve(hit);
        }
      };
      waits.add(look);
      look();
    });
  return { events, stop, next };
}

/** A listener connects in the background: jobs are created until one is heard (events before LISTEN are lost). */
async function untilHeard(writer: Store, rec: ReturnType<typeof recorder>, prefix: string): Promise<void> {
  for (let i = 0; ; i++) {
    await writer.createJob(job(`${prefix}_${i}`), []);
    const heard = await Promise.race([rec.next((e) => e.kind === 'queued').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 100))]);
    if (heard) return;
  }
}

describe('job events on PostgreSQL', () => {
  it('a store hears new, finished and canceled jobs of its schema only, and listens again after its connection dies', async () => {
    const a = await PostgresStore.open(one.url());
    const b = await PostgresStore.open(one.url());
    const c = await PostgresStore.open(other.url());
    try {
      const heardB = recorder(b);
      const heardC = recorder(c);
      await untilHeard(a, heardB, 'warm_b');
      await untilHeard(c, heardC, 'warm_c');

      // A job's end is announced by the engine once it is written (its log line, the connector's health).
      heardB.events.length = 0;
      heardC.events.length = 0;
      await a.createJob(job('imp_done'), []);
      expect(await heardB.next((e) => e.kind === 'queued')).toEqual({ kind: 'queued' });
      const finalized = await a.finalizeJobs(new Date().toISOString());
      expect(finalized.map((j) => j.id)).toContain('imp_done');
      a.announceJob!({ kind: 'final', jobId: 'imp_done' });
      await heardB.next((e) => e.kind === 'final' && e.jobId === 'imp_done');

      // Notifications arrive in commit order: once c hears its own schema's job, it would have heard ours.
      await c.createJob(job('imp_c'), []);
      await heardC.next((e) => e.kind === 'queued');
      expect(heardC.events).toEqual([{ kind: 'queued' }]);

      // Its connection ended under it, b listens again, says resync, and hears what follows.
      const pid = (b as unknown as { listener: { processID: number } }).listener.processID;
      await one.admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await heardB.next((e) => e.kind === 'resync');
      heardB.events.length = 0;
      await a.createJob(job('imp_after'), []);
      await heardB.next((e) => e.kind === 'queued');

      heardB.stop();
      heardC.stop();
      expect((b as unknown as { listener: unknown }).listener).toBeNull();
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  describe('two processes on one store', () => {
    let env: S3Env;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-events-'));
    const log = { info() {}, warn() {}, error() {}, debug() {} } as never;
    const env0 = { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 3).toString('base64') };
    const open = (concurrency: number) =>
      App.open({ dataDir: dir, databaseUrl: one.url(), readOnly: false, concurrency, leaseMs: 30_000, pollMs: 3_600_000, idleTimeoutMs: 30_000, browseBudgetMs: 5000, retentionDays: 30, env: env0, log, hashThreads: 0 });
    beforeAll(async () => {
      env = await startS3Env(['events']);
      for (let i = 0; i < 3; i++) await env.s3.put('events', `f${i}.txt`, `file ${i}`);
    });
    afterAll(async () => {
      await env.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('a worker starts a job the front door created, and the front door hears it end, between their polls', async () => {
      const front = await open(0);
      const worker = await open(2);
      try {
        front.start();
        worker.start();
        const connector = await front.connectors.create(DEFAULT_ORG, env.connector('events') as never);
        // The worker's listener connects in the background: until it listens, a job could wait for its hourly poll.
        const listening = recorder(worker.store);
        await untilHeard(front.store, listening, 'warm');
        listening.stop();

        // The front door runs no work (--workers 0): only the worker's event tells its engine a job ended.
        const finals = new Set<string>();
        let heard: (() => void) | null = null;
        front.engine.onChange((id, final) => {
          if (final) finals.add(id);
          heard?.();
        });
        const started = await front.imports.start(DEFAULT_ORG, { connector_id: connector.id, index: 'events' });
        await new Promise<void>((resolve) => {
          heard = () => finals.has(started.job_id!) && resolve();
          heard();
        });
        const status = await front.jobs.status(DEFAULT_ORG, started.job_id!, { limit: 10 });
        expect(status.status).toBe('completed');
        expect(status.counts.ready).toBe(3);
      } finally {
        await worker.close();
        await front.close();
      }
    });
  });
});
