import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
import { s3Fixture } from '../providers/s3.fixture.js';

/**
 * An agent that names an automation's schedule by a common variant ({cron}, {interval}) is answered
 * "Did you mean schedule?", not "Remove it": on update_automation, removing it leaves a call that
 * changes nothing and answers "updated automation", so the agent believes the schedule changed.
 * A {timezone} is answered with what the product does instead (schedules are cron in UTC, convert
 * the hours), not "Remove it", which would silently move the runs to UTC hours.
 */
describe('automations: variants of the schedule field', () => {
  const fx = s3Fixture();
  let cp: Running;
  let conn: string;
  let auto: string;

  beforeAll(async () => {
    await fx.start();
    const bucket = await fx.createBucket();
    cp = await startCloudport({ dataDir: tempDir() });
    conn = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
    auto = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'x', schedule: '1h' })).automation.id;
  });
  afterAll(async () => {
    await cp?.close();
    await fx.stop();
  });

  it.each([
    [{ interval: '2h' }],
    [{ cron: '0 9 * * *' }],
  ])('update_automation %j suggests schedule', async (extra) => {
    const r = await cp.call('update_automation', { automation_id: auto, ...extra });
    expect(r.isError).toBe(true);
    expect(r.data.error.kind).toBe('config_invalid');
    expect(r.data.error.fix).toMatch(/Did you mean schedule\b/);
    expect(r.data.error.fix).not.toMatch(/^Remove it/);
  });

  it('create_automation {timezone} says that schedules are UTC', async () => {
    const r = await cp.call('create_automation', { kind: 'import', connector_id: conn, index: 'y', schedule: '0 9 * * *', timezone: 'Europe/Paris' });
    expect(r.isError).toBe(true);
    expect(r.data.error.fix).toMatch(/UTC/);
    expect(r.data.error.fix).not.toMatch(/^Remove it/);
  });
});
