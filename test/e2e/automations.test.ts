import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { automation, logged, startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer } from '../helpers/http.js';
import { uniqueName } from '../helpers/s3env.js';
import type { ProviderFixture } from '../providers/fixture.js';
import { s3Fixture } from '../providers/s3.fixture.js';
import { gcsFixture } from '../providers/gcs.fixture.js';
import { azureFixture } from '../providers/azure-blob.fixture.js';

/**
 * Automations end to end through the built server over stdio. Sub-minute intervals are allowed only
 * through CLOUDPORT_MIN_INTERVAL_MS. No wall-clock assertions: the test waits for states (with a
 * safety limit) and compares the server's own timestamps with each other.
 */
const FAST = { CLOUDPORT_MIN_INTERVAL_MS: '500' };
const FINAL = ['completed', 'completed_with_errors', 'failed', 'canceled'];

async function jobsOf(cp: Running, id: string): Promise<Record<string, any>[]> {
  return ((await cp.ok('list_imports', { automation_id: id, limit: 1000 })).imports as Record<string, any>[]).reverse(); // oldest first
}

async function keys(cp: Running, index: string): Promise<string[]> {
  return ((await cp.ok('list_index_items', { index, limit: 1000 })).items as { key: string }[]).map((i) => i.key).sort();
}

describe('automations (s3)', () => {
  const fx = s3Fixture();
  let cp: Running;
  let bucket: string;
  let conn: string;

  beforeAll(async () => {
    await fx.start();
    bucket = await fx.createBucket();
    // Debug logs show the ticks of a paused automation (they pass without a run).
    cp = await startCloudport({ dataDir: tempDir(), env: { ...FAST, CLOUDPORT_IDLE_TIMEOUT_MS: '20000', CLOUDPORT_LOG_LEVEL: 'debug' } });
    conn = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await fx.stop();
  });

  it('validates schedules with a clear error naming schedule; the real minimum is one minute', async () => {
    for (const schedule of ['every 5 minutes', '*/61 * * * *', '5x', '0s']) {
      const r = await cp.call('create_automation', { kind: 'import', connector_id: conn, index: 'v', schedule });
      expect(r.isError, schedule).toBe(true);
      expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: 'schedule' });
      expect(r.text).toContain('[schedule]');
    }
    const plain = await startCloudport({ dataDir: tempDir() });
    try {
      const c = (await plain.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
      for (const schedule of ['30s', '* * * * * *']) {
        const r = await plain.call('create_automation', { kind: 'import', connector_id: c, index: 'v', schedule });
        expect(r.data.error, schedule).toMatchObject({ kind: 'config_invalid', field: 'schedule' });
        expect(r.data.error.message).toContain('1 minute');
      }
      const a = (await plain.ok('create_automation', { kind: 'import', connector_id: c, index: 'v', schedule: '*/15 * * * *' })).automation;
      expect(a).toMatchObject({ state: 'active', enabled: true, import_mode: 'new_only', runs: 0 });
      expect(new Date(a.next_run_at).getUTCMinutes() % 15).toBe(0);
      const b = (await plain.ok('create_automation', { kind: 'import', connector_id: c, index: 'v2', schedule: '15m', enabled: false })).automation;
      expect(b).toMatchObject({ state: 'disabled', next_run_at: null });
      const dup = await plain.call('create_automation', { kind: 'import', connector_id: c, index: 'v', schedule: '1h' });
      expect(dup.data.error).toMatchObject({ kind: 'conflict', field: 'name' });
      expect((await plain.call('create_automation', { kind: 'import', connector_id: 'conn_nope', index: 'v', schedule: '1h' })).data.error.kind).toBe('not_found');
      // Deleting the connector deletes its automations.
      await plain.ok('delete_connector', { connector_id: c });
      expect((await plain.ok('list_automations')).automations).toEqual([]);
    } finally {
      await plain.close();
    }
  });

  it('an interval automation imports on its own, then only new files; its jobs carry automation_id', async () => {
    await fx.put(bucket, 'in/a.pdf', 'pdf a');
    await fx.put(bucket, 'in/b.pdf', 'pdf b');
    await fx.put(bucket, 'in/notes.txt', 'not a pdf');
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'auto', prefix: 'in/', pattern: '*.pdf', schedule: '1s' })).automation;
    const first = await until('a first run', async () => (await jobsOf(cp, a.id))[0]);
    expect(first.automation_id).toBe(a.id);
    const s1 = await waitForJob(cp, first.job_id);
    expect(s1).toMatchObject({ status: 'completed', automation_id: a.id, counts: { ready: 2, skipped: 0 } });
    expect(await keys(cp, 'auto')).toEqual(['in/a.pdf', 'in/b.pdf']);

    fx.resetCounts();
    await fx.put(bucket, 'in/c.pdf', 'pdf c');
    const later = await until('a run that imports the new file', async () => {
      for (const j of await jobsOf(cp, a.id)) if (j.job_id !== first.job_id && j.counts.ready === 1 && FINAL.includes(j.status)) return j;
      return null;
    });
    expect(later.counts).toMatchObject({ ready: 1, skipped: 2, failed: 0 });
    expect(fx.counts().get).toBe(1); // only the new file was read
    expect(await keys(cp, 'auto')).toEqual(['in/a.pdf', 'in/b.pdf', 'in/c.pdf']);
    const logs = (await cp.ok('import_logs', { job_id: later.job_id })).entries as { message: string }[];
    expect(logs[0]!.message).toContain(`by automation ${a.id}`);
    // Runs that found nothing new are pruned when the next one starts: the runs that imported stay, plus at most the latest idle one.
    const seen = (await automation(cp, a.id)).runs;
    await until('two more runs', async () => (await automation(cp, a.id)).runs >= seen + 2);
    const jobs = await jobsOf(cp, a.id);
    expect(jobs.slice(0, 2).map((j) => j.job_id)).toEqual([first.job_id, later.job_id]);
    expect(jobs.length).toBeLessThanOrEqual(4); // + the latest idle run, + one that may be running
    // Those earlier runs keep the number of their skipped files, not one row per unchanged file.
    const old = await cp.ok('import_status', { job_id: later.job_id, files_status: 'all' });
    expect(old.counts).toMatchObject({ ready: 1, skipped: 2, failed: 0 });
    expect(old.files.map((f: { key: string }) => f.key)).toEqual(['in/c.pdf']);
    expect(jobs[1]!.counts).toMatchObject({ ready: 1, skipped: 2 });
    const after = await automation(cp, a.id);
    expect(after).toMatchObject({ state: 'active', last_error: null });
    await cp.ok('delete_automation', { automation_id: a.id });
    expect((await cp.call('run_automation_now', { automation_id: a.id })).data.error.kind).toBe('not_found');
  });

  it('run_automation_now starts a run at once; no overlap: ticks during a slow run are skipped and logged', async () => {
    await fx.put(bucket, 'slow/x.bin', 'x'.repeat(1000));
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'slow', prefix: 'slow/', schedule: '1h', import_mode: 'all' })).automation;
    // The first run's GET stalls for a while (the proxy drops it after 4.5 s; the download then resumes).
    fx.addFault({ op: 'get', keyIncludes: 'slow/x.bin', times: 1, action: { type: 'stall', afterBytes: 10, ms: 4500 } });
    const run = await cp.ok('run_automation_now', { automation_id: a.id });
    expect(run.automation).toMatchObject({ last_job_id: run.job_id, runs: 1 });
    expect((await cp.ok('import_status', { job_id: run.job_id })).automation_id).toBe(a.id);
    const again = await cp.call('run_automation_now', { automation_id: a.id });
    expect(again.data.error).toMatchObject({ kind: 'conflict' });
    expect(again.text).toContain(run.job_id);
    // Now tick every second while the run is still going.
    await cp.ok('update_automation', { automation_id: a.id, schedule: '1s' });
    const skipped = await until('a skipped tick', async () => {
      const x = await automation(cp, a.id);
      return x.skipped >= 2 ? x : null;
    });
    const status = await cp.ok('import_status', { job_id: run.job_id });
    expect(FINAL).not.toContain(status.status); // the skips happened while the run was going
    expect((await jobsOf(cp, a.id)).map((j) => j.job_id)).toEqual([run.job_id]);
    expect(skipped.last_job_id).toBe(run.job_id);
    const logs = (await cp.ok('import_logs', { job_id: run.job_id })).entries as { message: string }[];
    expect(logs.some((l) => l.message.includes('tick skipped'))).toBe(true);
    expect((await waitForJob(cp, run.job_id)).status).toBe('completed');
    // After it ends, the next tick runs again.
    await until('a run after the slow one', async () => (await jobsOf(cp, a.id)).length >= 2);
    fx.clearFaults();
    await cp.ok('update_automation', { automation_id: a.id, enabled: false });
    const n = (await automation(cp, a.id)).runs;
    // A disabled automation leaves no trace in the scheduler, so a witness on the same scheduler shows
    // its ticks going by. Ticks run one after another and the witness is not in the due list of a tick
    // that began before the change, so once the witness has run, a run claimed just before the change is
    // recorded; the witness's next two runs are ticks a whole interval apart, when this automation was due.
    const w = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'witness', prefix: 'witness/', schedule: '1s' })).automation;
    await until('a witness run', async () => (await automation(cp, w.id)).runs >= 1);
    const m = (await automation(cp, a.id)).runs;
    expect(m).toBeLessThanOrEqual(n + 1); // at most one that was already being claimed
    await until('two more witness runs', async () => (await automation(cp, w.id)).runs >= 3);
    // Disabled: no more runs.
    expect((await automation(cp, a.id)).runs).toBe(m);
    expect((await automation(cp, a.id)).state).toBe('disabled');
    await cp.ok('delete_automation', { automation_id: w.id });
  });

  it('a run over a prefix with nothing in it completes, and list_automations says why it did nothing', async () => {
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'idle', prefix: 'nothing-here/', schedule: '1h' })).automation;
    const run = await cp.ok('run_automation_now', { automation_id: a.id });
    expect((await waitForJob(cp, run.job_id)).status).toBe('completed');
    const listed = await cp.call('list_automations', {});
    const view = listed.data.automations.find((x: { id: string }) => x.id === a.id);
    expect(view).toMatchObject({ last_status: 'completed', last_error: null });
    expect(view.last_reason).toMatch(/no object matched/);
    // The text's page is columns: the reason is in the automation's row, under last_reason.
    const page = JSON.parse(listed.text.split('\n')[1]!);
    const row = page.automations.find((r: unknown[]) => r[page.columns.indexOf('id')] === a.id);
    expect(row[page.columns.indexOf('last_reason')]).toMatch(/no object matched/);
    await cp.ok('delete_automation', { automation_id: a.id });
  });

  it('a run whose idempotency key another start_import took still starts a job of its own', async () => {
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'keyed', prefix: 'in/', schedule: '1h' })).automation;
    const foreign = await cp.ok('start_import', { connector_id: conn, index: 'other', prefix: 'in/', idempotency_key: `automation:${a.id}:1` });
    const run = await cp.ok('run_automation_now', { automation_id: a.id });
    expect(run.job_id).not.toBe(foreign.job_id);
    expect((await waitForJob(cp, run.job_id)).automation_id).toBe(a.id);
    await cp.ok('delete_automation', { automation_id: a.id });
  });

  it('an export automation writes new and changed items of an index on a schedule', async () => {
    const c = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket), scopes: ['import', 'export'], export_base_path: 'out/' })).connector.id;
    await fx.put(bucket, 'ex/1.txt', 'one');
    await fx.put(bucket, 'ex/2.txt', 'two');
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: c, index: 'exsrc', prefix: 'ex/' })).job_id);
    const bad = await cp.call('create_automation', { kind: 'export', connector_id: conn, index: 'exsrc', schedule: '1s' });
    expect(bad.data.error).toMatchObject({ kind: 'permission_denied', field: 'connector_id' }); // conn has no export scope
    const a = (await cp.ok('create_automation', { kind: 'export', connector_id: c, index: 'exsrc', schedule: '1s' })).automation;
    expect(a).toMatchObject({ kind: 'export', import_mode: null, state: 'active' });
    const first = await until('a first export run', async () => (await jobsOf(cp, a.id))[0]);
    const s1 = await waitForJob(cp, first.job_id);
    expect(s1).toMatchObject({ status: 'completed', automation_id: a.id, counts: { exported: 2 } });
    await fx.put(bucket, 'ex/3.txt', 'three');
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: c, index: 'exsrc', prefix: 'ex/', import_mode: 'new_only' })).job_id);
    const later = await until('an export run with the new item', async () => (await jobsOf(cp, a.id)).find((j) => j.counts.exported === 1 && FINAL.includes(j.status)));
    expect(later.counts).toMatchObject({ exported: 1, skipped: 2, failed: 0 });
    // Its index deleted, the automation is paused saying why and how it resumes; no run fails meanwhile.
    await cp.ok('delete_index', { index: 'exsrc' });
    const listed = await cp.call('list_automations', {});
    const paused = (listed.data.automations as Record<string, any>[]).find((x) => x.id === a.id)!;
    expect(paused).toMatchObject({ state: 'paused', paused_reason: expect.stringContaining('index exsrc does not exist') });
    expect(listed.text).toContain('index exsrc does not exist');
    const now = await cp.call('run_automation_now', { automation_id: a.id });
    expect(now.data.error).toMatchObject({ kind: 'conflict', field: 'automation_id', fix: expect.stringContaining('Import into exsrc') });
    const runs = (await jobsOf(cp, a.id)).length;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: c, index: 'exsrc', prefix: 'ex/' })).job_id);
    expect((await cp.ok('list_automations', {})).automations.find((x: { id: string }) => x.id === a.id)).toMatchObject({ state: 'active', last_error: null });
    await until('a run after the index is back', async () => (await jobsOf(cp, a.id)).length > runs);
    await cp.ok('delete_automation', { automation_id: a.id });
  });

  it('isolates organizations: a foreign automation answers exactly like an unknown one', async () => {
    const dataDir = tempDir();
    const keyA = await createKey(dataDir, 'acme');
    const keyB = await createKey(dataDir, 'globex');
    const srv = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32'], FAST);
    const a = await connectHttp(srv.url, keyA);
    const b = await connectHttp(srv.url, keyB);
    try {
      const c = (await a.ok('create_connector', { name: 'team', ...fx.connectorInput(bucket) })).connector.id;
      const auto = (await a.ok('create_automation', { kind: 'import', connector_id: c, index: 'mine', schedule: '1h', name: 'feed' })).automation;
      expect((await b.ok('list_automations')).automations).toEqual([]);
      expect((await b.ok('create_automation', { kind: 'import', connector_id: (await b.ok('create_connector', { name: 'team', ...fx.connectorInput(bucket) })).connector.id, index: 'mine', schedule: '1h', name: 'feed' })).automation.name).toBe('feed');
      const unknown = 'auto_0000000000000000000000000';
      for (const [tool, args] of [
        ['update_automation', { enabled: false }],
        ['delete_automation', {}],
        ['run_automation_now', {}],
      ] as const) {
        const f = await b.call(tool, { automation_id: auto.id, ...args });
        const u = await b.call(tool, { automation_id: unknown, ...args });
        expect(f.isError, tool).toBe(true);
        expect(f.text.split(auto.id).join('ID'), tool).toBe(u.text.split(unknown).join('ID'));
      }
      const f = await b.call('create_automation', { kind: 'import', connector_id: c, index: 'x', schedule: '1h' });
      expect(f.data.error.kind).toBe('not_found');
      const fl = await b.call('list_imports', { automation_id: auto.id });
      expect(fl.data.error.kind).toBe('not_found');
      expect(fl.text.split(auto.id).join('ID')).toBe((await b.call('list_imports', { automation_id: unknown })).text.split(unknown).join('ID'));
      expect((await a.ok('list_automations')).automations.map((x: { id: string }) => x.id)).toEqual([auto.id]);
    } finally {
      await a.close();
      await b.close();
      await srv.stop();
    }
  });

  it('pauses while the connector is SUSPENDED and resumes when it is ACTIVE again', async () => {
    const c = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: c, index: 'paused', prefix: 'in/', schedule: '1s' })).automation;
    await until('a first run', async () => (await automation(cp, a.id)).runs >= 1);
    await cp.ok('update_connector', { connector_id: c, status: 'SUSPENDED' });
    const p = await automation(cp, a.id);
    expect(p).toMatchObject({ state: 'paused', enabled: true });
    expect(p.paused_reason).toContain('SUSPENDED');
    const paused = await cp.call('run_automation_now', { automation_id: a.id });
    expect(paused.data.error).toMatchObject({ kind: 'conflict' });
    expect(paused.data.error.fix).toContain('ACTIVE');
    // Each tick that passes without a run is logged. The first comes after a run claimed just before the
    // suspension is recorded (the claim holds next_run_at until then), so the count is final from it on.
    const pausedTicks = () => logged(cp, 'automation paused', a.id).length;
    await until('a paused tick', async () => pausedTicks() >= 1);
    const n = (await automation(cp, a.id)).runs;
    await until('two more paused ticks', async () => pausedTicks() >= 3);
    expect((await automation(cp, a.id)).runs).toBe(n);
    await cp.ok('update_connector', { connector_id: c, status: 'ACTIVE' });
    expect((await automation(cp, a.id)).state).toBe('active');
    await until('a run after resuming', async () => (await automation(cp, a.id)).runs > n);
    await cp.ok('delete_automation', { automation_id: a.id });
  });
});

describe.each([
  ['gcs', gcsFixture],
  ['azure_blob', azureFixture],
] as [string, () => ProviderFixture][])('automations (%s)', (_name, make) => {
  const fx = make();
  let cp: Running;

  beforeAll(async () => {
    await fx.start();
    cp = await startCloudport({ dataDir: tempDir(), env: FAST });
  });
  afterAll(async () => {
    await cp?.close();
    await fx.stop();
  });

  it('imports new files on a schedule, and only new ones on the next run', async () => {
    const bucket = await fx.createBucket();
    await fx.put(bucket, 'docs/1.pdf', 'one');
    await fx.put(bucket, 'docs/2.pdf', 'two');
    const conn = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'feed', prefix: 'docs/', pattern: '*.pdf', schedule: '1s' })).automation;
    const first = await until('a first run', async () => (await jobsOf(cp, a.id))[0]);
    expect((await waitForJob(cp, first.job_id)).counts).toMatchObject({ ready: 2 });
    await fx.put(bucket, 'docs/3.pdf', 'three');
    const later = await until('a run with the new file', async () => (await jobsOf(cp, a.id)).find((j) => j.counts.ready === 1 && FINAL.includes(j.status)));
    expect(later.counts).toMatchObject({ ready: 1, skipped: 2 });
    expect(await keys(cp, 'feed')).toEqual(['docs/1.pdf', 'docs/2.pdf', 'docs/3.pdf']);
    await cp.ok('delete_automation', { automation_id: a.id });
  });
});
