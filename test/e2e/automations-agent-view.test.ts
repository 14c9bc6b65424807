import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { automation, startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
import { s3Fixture } from '../providers/s3.fixture.js';

/**
 * What an agent reads about automations (README "Automations", "Toolsets"):
 * - an automation whose connector is ARCHIVED has a paused_reason that says to delete the automation;
 * - an export automation whose index was deleted is paused, its summary line saying why, and its ticks
 *   record no failed start;
 * - a server started with --toolsets without `exports` writes nothing to a bucket through an export
 *   automation, also one created earlier (it is paused there; its ticks start no export job).
 * No wall-clock assertions: waits are on states and on a witness automation's runs.
 */
const FAST = { CLOUDPORT_MIN_INTERVAL_MS: '500' };

describe('automations: what the agent sees', () => {
  const fx = s3Fixture();
  let cp: Running;
  let bucket: string;
  beforeAll(async () => {
    await fx.start();
    bucket = await fx.createBucket();
    await fx.put(bucket, 'in/a.txt', 'aaa');
    await fx.put(bucket, 'in/b.txt', 'bbb');
    cp = await startCloudport({ dataDir: tempDir(), env: FAST });
  });
  afterAll(async () => {
    await cp?.close();
    await fx.stop();
  });

  it('an automation on an ARCHIVED connector has a paused_reason that says to delete the automation', async () => {
    const c = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: c, index: 'arch', prefix: 'in/', schedule: '1h' })).automation;
    await cp.ok('update_connector', { connector_id: c, status: 'ARCHIVED' });
    const listed = await cp.call('list_automations', { connector_id: c });
    const view = listed.data.automations.find((x: { id: string }) => x.id === a.id);
    expect(view.state).toBe('paused');
    // README: "an ARCHIVED one never is [ACTIVE again]: its paused_reason says to delete the automation".
    expect(view.paused_reason).toMatch(/delete/i);
    expect(listed.text.split('\n')[0]).toMatch(/delete/i);
  });

  it('an export automation whose index was deleted says so in the summary line, and its ticks record no failed start', async () => {
    const c = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket), scopes: ['import', 'export'], export_base_path: 'out/' })).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: c, index: 'gone', prefix: 'in/' })).job_id);
    const a = (await cp.ok('create_automation', { kind: 'export', connector_id: c, index: 'gone', schedule: '1h', name: 'export-gone' })).automation;
    await waitForJob(cp, (await cp.ok('run_automation_now', { automation_id: a.id })).job_id);
    await cp.ok('delete_index', { index: 'gone' });
    await cp.ok('update_automation', { automation_id: a.id, schedule: '1s' });
    const w = (await cp.ok('create_automation', { kind: 'import', connector_id: c, index: 'witness2', prefix: 'nothing/', schedule: '1s' })).automation;
    await until('two witness runs', async () => (await automation(cp, w.id)).runs >= 2);
    const listed = await cp.call('list_automations', { connector_id: c });
    const line = listed.text.split('\n').find((l: string) => l.includes(a.id))!;
    expect(line).toMatch(/paused: its index gone does not exist/);
    expect((await automation(cp, a.id)).last_error).toBeNull();
    await cp.ok('delete_automation', { automation_id: a.id });
    await cp.ok('delete_automation', { automation_id: w.id });
  });
});

describe('--toolsets without exports and an export automation made before', () => {
  const fx = s3Fixture();
  let bucket: string;
  beforeAll(async () => {
    await fx.start();
    bucket = await fx.createBucket();
    await fx.put(bucket, 'in/a.txt', 'aaa');
  });
  afterAll(async () => fx.stop());

  it('writes nothing to the bucket through the export automation', async () => {
    const dataDir = tempDir();
    let cp = await startCloudport({ dataDir, env: FAST });
    const conn = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket), scopes: ['import', 'export'], export_base_path: 'out/' })).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 'src', prefix: 'in/' })).job_id);
    const ex = (await cp.ok('create_automation', { kind: 'export', connector_id: conn, index: 'src', schedule: '1s' })).automation;
    const w = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'witness', prefix: 'nothing/', schedule: '1s' })).automation;
    await cp.close();
    cp = await startCloudport({ dataDir, env: FAST, args: ['--toolsets', 'connectors,imports,indexes,automations'] });
    try {
      // The operator took exports away; the agent cannot start one by hand.
      expect((await cp.call('run_automation_now', { automation_id: ex.id })).data.error).toMatchObject({ kind: 'unsupported' });
      const runs0 = (await automation(cp, ex.id)).runs;
      // A new item in the index: an export run would write it to out/in/new.txt.
      await fx.put(bucket, 'in/new.txt', 'new');
      await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 'src', prefix: 'in/', import_mode: 'new_only' })).job_id);
      const w0 = (await automation(cp, w.id)).runs;
      await until('three witness runs', async () => (await automation(cp, w.id)).runs >= w0 + 3);
      const written = (await cp.ok('browse_connector', { connector_id: conn, prefix: 'out/' })).objects.map((o: { key?: string } | string[]) => (Array.isArray(o) ? o[0] : o.key));
      expect(written).not.toContain('out/in/new.txt');
      expect((await automation(cp, ex.id)).runs).toBe(runs0);
      expect(await automation(cp, ex.id)).toMatchObject({ state: 'paused', paused_reason: expect.stringContaining('without exports') });
    } finally {
      await cp.close();
    }
  });
});
