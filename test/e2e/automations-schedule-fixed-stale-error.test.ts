import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { automation, startCloudport, tempDir, until, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
import { s3Fixture } from '../providers/s3.fixture.js';

/**
 * A server whose minimum interval is higher than an automation's schedule disables that automation,
 * and says so. Once update_automation gives it a valid schedule and enables it again, its results and
 * list_automations no longer say that its schedule is too short: that complaint is about a schedule
 * it no longer has (last_error and the summary line are cleared of it).
 */
describe('automations: a schedule made valid again clears the complaint about it', () => {
  const fx = s3Fixture();
  let cp: Running;
  let conn: string;
  const dataDir = tempDir();

  beforeAll(async () => {
    await fx.start();
    const bucket = await fx.createBucket();
    cp = await startCloudport({ dataDir, env: { CLOUDPORT_MIN_INTERVAL_MS: '500' } });
    conn = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await fx.stop();
  });

  it('after update_automation {schedule: "1h", enabled: true}', async () => {
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'x', schedule: '3s' })).automation;
    // Paused, so that no run happens before the restart.
    await cp.ok('update_connector', { connector_id: conn, status: 'SUSPENDED' });
    await cp.close();
    cp = await startCloudport({ dataDir }); // the default minimum: one minute
    const disabled = await until('the automation disabled at its tick', async () => {
      const x = await automation(cp, a.id);
      return x.state === 'disabled' ? x : null;
    });
    expect(disabled.last_error).toContain('minimum interval');
    await cp.ok('update_connector', { connector_id: conn, status: 'ACTIVE' });
    const r = await cp.call('update_automation', { automation_id: a.id, schedule: '1h', enabled: true });
    expect(r.isError, r.text).toBe(false);
    expect(r.data.automation.state).toBe('active');
    expect(r.text).not.toContain('shorter than the minimum interval');
    expect(r.data.automation.last_error ?? '').not.toContain('"3s"');
    const listed = await cp.call('list_automations', {});
    expect(listed.text).not.toContain('shorter than the minimum interval');
  });
});
