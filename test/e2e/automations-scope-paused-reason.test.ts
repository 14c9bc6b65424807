import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
import { s3Fixture } from '../providers/s3.fixture.js';

/**
 * An automation paused because its connector lost the scope it needs says, in its paused_reason (the
 * text list_automations shows an agent), what brings it back, as every other paused_reason does:
 * update_connector with the scopes including the missing one. run_automation_now's refusal gives
 * that call too, with the scope to add.
 */
describe('automations: paused for a missing scope says how to resume', () => {
  const fx = s3Fixture();
  let cp: Running;
  let conn: string;

  beforeAll(async () => {
    await fx.start();
    const bucket = await fx.createBucket();
    await fx.put(bucket, 'in/a.txt', 'hello');
    cp = await startCloudport({ dataDir: tempDir() });
    conn = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket), scopes: ['import', 'export'], export_base_path: 'out/' })).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 'src', prefix: 'in/' })).job_id);
  });
  afterAll(async () => {
    await cp?.close();
    await fx.stop();
  });

  it('export scope removed', async () => {
    const a = (await cp.ok('create_automation', { kind: 'export', connector_id: conn, index: 'src', schedule: '1h' })).automation;
    await cp.ok('update_connector', { connector_id: conn, scopes: ['import'] });
    const listed = await cp.call('list_automations', {});
    const row = listed.data.automations.find((x: { id: string }) => x.id === a.id);
    expect(row.state).toBe('paused');
    expect(row.paused_reason).toContain('update_connector');
    expect(listed.text.split('\n')[0]).toContain('update_connector');
    const run = await cp.call('run_automation_now', { automation_id: a.id });
    expect(run.data.error).toMatchObject({ kind: 'conflict', field: 'automation_id' });
    expect(run.data.error.fix).toMatch(/update_connector.*scopes.*"export"/);
  });
});
