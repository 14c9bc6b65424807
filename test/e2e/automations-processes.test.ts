import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
import { s3Fixture } from '../providers/s3.fixture.js';

/**
 * Automations across restarts and processes (the rest is in automations.test.ts), end to end
 * through the built server over stdio. Sub-minute intervals are allowed only
 * through CLOUDPORT_MIN_INTERVAL_MS. No wall-clock assertions: the test waits for states (with a
 * safety limit) and compares the server's own timestamps with each other.
 */
const FAST = { CLOUDPORT_MIN_INTERVAL_MS: '500' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, limitMs = 30_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function automation(cp: Running, id: string): Promise<Record<string, any>> {
  const all = (await cp.ok('list_automations', { limit: 1000 })).automations as Record<string, any>[];
  return all.find((a) => a.id === id)!;
}

async function jobsOf(cp: Running, id: string): Promise<Record<string, any>[]> {
  return ((await cp.ok('list_imports', { automation_id: id, limit: 1000 })).imports as Record<string, any>[]).reverse(); // oldest first
}

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
    await until('a first run', async () => (await jobsOf(cp, a.id)).length >= 1);
    await cp.close();
    const before = (await startCloudport({ dataDir, args: ['--concurrency', '0'] }).then(async (ro) => {
      // A process that runs no job engine runs no scheduler either.
      try {
        const x = await automation(ro, a.id);
        await sleep(2500);
        expect((await automation(ro, a.id)).runs).toBe(x.runs);
        return x;
      } finally {
        await ro.close();
      }
    }))!;
    await sleep(2000); // with the time above: two or more ticks missed
    cp = await startCloudport({ dataDir, env: FAST });
    try {
      const jobs = await until('runs after the restart', async () => {
        const j = (await jobsOf(cp, a.id)).slice(before.runs);
        return j.length >= 2 ? j : null;
      });
      // One run for all the missed ticks, then the schedule counts from it: the next run is a whole interval later.
      expect(Date.parse(jobs[1]!.created_at) - Date.parse(jobs[0]!.created_at)).toBeGreaterThanOrEqual(1500);
      const now = await automation(cp, a.id);
      expect(now.skipped).toBe(before.skipped);
    } finally {
      await cp.close();
    }
  });

  async function twoProcesses(env: Record<string, string>): Promise<void> {
    const dataDir = tempDir();
    const one = await startCloudport({ dataDir, env: { ...FAST, CLOUDPORT_LOG_LEVEL: 'info', ...env } });
    const two = await startCloudport({ dataDir, env: { ...FAST, CLOUDPORT_LOG_LEVEL: 'info', ...env } });
    try {
      const conn = (await one.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
      const a = (await one.ok('create_automation', { kind: 'import', connector_id: conn, index: 'shared', schedule: '1s' })).automation;
      await until('five runs', async () => (await jobsOf(two, a.id)).length >= 5);
      await one.ok('update_automation', { automation_id: a.id, enabled: false });
      await sleep(300);
      const all = await jobsOf(two, a.id);
      const x = await automation(two, a.id);
      expect(all.length).toBe(x.runs); // every run is one job, none started twice
      // Each run was started by exactly one of the two processes (a lost compare-and-set starts nothing).
      const started = (text: string) => text.split('\n').filter((l) => l.includes('"automation run started"') && l.includes(a.id)).length;
      expect(started(one.stderr()) + started(two.stderr())).toBe(x.runs);
      const created = all.map((j) => Date.parse(j.created_at));
      for (let i = 1; i < created.length; i++) expect(created[i]! - created[i - 1]!, `runs ${i - 1} and ${i}`).toBeGreaterThanOrEqual(700);
    } finally {
      await one.close();
      await two.close();
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
      expect(r.rows[0].jobs).toBe(r.rows[0].runs);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      await admin.end();
    }
  });
});

