import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { automation, logged, startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
import { s3Fixture } from '../providers/s3.fixture.js';

/**
 * Automations across restarts and processes (the rest is in automations.test.ts), end to end
 * through the built server over stdio. Sub-minute intervals are allowed only
 * through CLOUDPORT_MIN_INTERVAL_MS. No wall-clock assertions: the test waits for states (with a
 * safety limit) and compares the server's own timestamps with each other.
 */
const FAST = { CLOUDPORT_MIN_INTERVAL_MS: '500' };

/** The runs a process's log says it started (when each was claimed), oldest first; idle runs' jobs are pruned, their log lines stay. */
function started(cp: Running, id: string): { time: number; job_id: string }[] {
  return logged<{ claimed_at: string; job_id: string }>(cp, 'automation run started', id).map((r) => ({ time: Date.parse(r.claimed_at), job_id: r.job_id }));
}

/** The runs a process's log says a tick was skipped for (the run still busy), in order. */
function skips(cp: Running, id: string): string[] {
  return logged<{ job_id: string }>(cp, 'automation tick skipped', id).map((r) => r.job_id);
}

const LOGS = { CLOUDPORT_LOG_LEVEL: 'info' };

describe('automations across restarts and processes (s3)', () => {
  const fx = s3Fixture();
  let bucket: string;

  beforeAll(async () => {
    await fx.start();
    bucket = await fx.createBucket();
    await fx.put(bucket, 'k/1.txt', 'one');
  });
  afterAll(async () => fx.stop());

  it('ticks missed while the server was down make exactly one run at start', async () => {
    const dataDir = tempDir();
    let cp = await startCloudport({ dataDir, env: FAST });
    const conn = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'missed', schedule: '2s' })).automation;
    await until('a first run', async () => (await automation(cp, a.id)).runs >= 1);
    // That run ends before the server stops: one still going at the restart would make the next ticks
    // skips that name it, and the skips below are the ones the restarted process's own runs cause.
    await waitForJob(cp, (await automation(cp, a.id)).last_job_id);
    await cp.close();
    const before = (await startCloudport({ dataDir, args: ['--concurrency', '0'] }).then(async (ro) => {
      // A process that runs no job engine runs no scheduler either. The wait is on the automation's own
      // next_run_at: once the clock is a whole interval past it, two ticks were due while this process was up
      // (a scheduler claims a run at next_run_at), and two or more ticks are missed for the restart below.
      try {
        const x = await automation(ro, a.id);
        await until('two ticks due', async () => Date.now() > Date.parse(x.next_run_at) + 2000);
        const y = await automation(ro, a.id);
        expect(y.runs).toBe(x.runs);
        expect(y.next_run_at).toBe(x.next_run_at); // not even claimed
        return x;
      } finally {
        await ro.close();
      }
    }))!;
    cp = await startCloudport({ dataDir, env: { ...FAST, ...LOGS } });
    let reader: Running | undefined;
    try {
      const runs = await until('two runs after the restart', async () => {
        const r = started(cp, a.id);
        return r.length >= 2 ? r : null;
      });
      // One run for all the missed ticks, then the schedule counts from it: the next run is a whole interval later.
      expect(runs[1]!.time - runs[0]!.time).toBeGreaterThanOrEqual(1500);
      // Stop the process so the count and the log below describe the same ticks: stopping waits for the
      // tick in progress, and its log is complete once it has exited. A process without a job engine
      // (so without a scheduler) reads the final count.
      await cp.close();
      reader = await startCloudport({ dataDir, args: ['--concurrency', '0'] });
      const now = await automation(reader, a.id);
      // The missed ticks are not counted as skipped. A tick can still be skipped because a run started
      // after the restart outlasts the interval (a loaded machine): each such skip names that run.
      const overlaps = skips(cp, a.id);
      const mine = started(cp, a.id).map((r) => r.job_id);
      expect(overlaps.filter((j) => !mine.includes(j)), `skips of runs this process did not start (the last run before the restart: ${before.last_job_id})`).toEqual([]);
      expect(now.skipped).toBe(before.skipped + overlaps.length);
      expect(now.runs).toBeGreaterThanOrEqual(before.runs + 2);
    } finally {
      await cp.close();
      await reader?.close();
    }
  });

  it('a run whose process is killed while starting it is retried once, after the claim lease, by the next process', async () => {
    const dataDir = tempDir();
    const env = { ...FAST, ...LOGS, CLOUDPORT_LEASE_MS: '2000' };
    const victim = await startCloudport({ dataDir, env });
    const conn = (await victim.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
    fx.resetCounts();
    // The run's first listing hangs, so the process dies between claiming the run and recording it.
    fx.addFault({ op: 'list', times: 1, action: { type: 'stall', afterBytes: 0, ms: 60_000 } });
    const a = (await victim.ok('create_automation', { kind: 'import', connector_id: conn, index: 'killed', schedule: '1h' })).automation;
    void victim.call('run_automation_now', { automation_id: a.id }).catch(() => undefined);
    await until('the run listing', async () => fx.counts().list >= 1);
    process.kill(victim.pid!, 'SIGKILL');
    await victim.close().catch(() => undefined);
    fx.clearFaults();
    const next = await startCloudport({ dataDir, env });
    try {
      const x = await until('the retried run', async () => {
        const r = await automation(next, a.id);
        return r.runs >= 1 ? r : null;
      });
      expect(x.runs).toBe(1);
      expect(started(next, a.id).map((r) => r.job_id)).toEqual([x.last_job_id]);
      const jobs = (await next.ok('list_imports', { automation_id: a.id })).imports as { job_id: string }[];
      expect(jobs.map((j) => j.job_id)).toEqual([x.last_job_id]);
    } finally {
      await next.close();
    }
  });

  async function twoProcesses(env: Record<string, string>): Promise<void> {
    const dataDir = tempDir();
    const one = await startCloudport({ dataDir, env: { ...FAST, ...LOGS, ...env } });
    const two = await startCloudport({ dataDir, env: { ...FAST, ...LOGS, ...env } });
    let reader: Running | undefined;
    try {
      const conn = (await one.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
      const a = (await one.ok('create_automation', { kind: 'import', connector_id: conn, index: 'shared', schedule: '1s' })).automation;
      await until('five runs', async () => (await automation(two, a.id)).runs >= 5);
      await one.ok('update_automation', { automation_id: a.id, enabled: false });
      // Both processes stop before the count is read: stopping waits for the tick in progress (a run
      // claimed just before the change is recorded, logged and its idle predecessors pruned), and each
      // log is complete once its process has exited. A process without a scheduler reads the result.
      await one.close();
      await two.close();
      reader = await startCloudport({ dataDir, args: ['--concurrency', '0'], env: { ...FAST, ...env } });
      const x = await automation(reader, a.id);
      // Each run was started by exactly one of the two processes (a lost compare-and-set starts nothing), as one job of its own.
      const runs = [...started(one, a.id), ...started(two, a.id)].sort((p, q) => p.time - q.time);
      expect(runs).toHaveLength(x.runs);
      expect(new Set(runs.map((r) => r.job_id)).size).toBe(x.runs);
      for (let i = 1; i < runs.length; i++) expect(runs[i]!.time - runs[i - 1]!.time, `runs ${i - 1} and ${i}`).toBeGreaterThanOrEqual(700);
      // Idle runs were pruned as the next one started: the first run (it imported the file) and the latest one are left.
      const left = (await reader.ok('list_imports', { automation_id: a.id })).imports as { job_id: string; counts: { ready: number } }[];
      expect(left.map((j) => j.job_id)).toEqual([x.last_job_id, runs[0]!.job_id]);
      expect(left[1]!.counts.ready).toBe(1);
    } finally {
      await one.close();
      await two.close();
      await reader?.close();
    }
  }

  it('two server processes on one data dir start exactly one job per tick', async () => twoProcesses({}));

  it('two server processes on one PostgreSQL store start exactly one job per tick', async () => {
    const schema = `cp_auto_${process.pid}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
    await admin.connect();
    try {
      await twoProcesses({ CLOUDPORT_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/test?schema=${schema}` });
      const r = await admin.query(`SELECT a.runs, (SELECT COUNT(*)::int FROM ${schema}.jobs j WHERE j.automation_id = a.id) AS jobs FROM ${schema}.automations a`);
      expect(r.rows).toHaveLength(1);
      expect(r.rows[0].runs).toBeGreaterThanOrEqual(5);
      expect(r.rows[0].jobs).toBe(2); // idle runs pruned
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      await admin.end();
    }
  });
});

