import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { automation, startCloudport, tempDir, until, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
import { s3Fixture } from '../providers/s3.fixture.js';

/**
 * A cron expression with a year field (croner's seventh field) is accepted by create_automation with
 * its next run shown. Its last match runs like any other: at that moment the automation starts a job
 * (runs 1, last_job_id set, no last_error). Having no further match, it shows no next run
 * (next_run_at null) rather than a run parked a year later.
 */
describe('automations: the last match of a cron with a year field', () => {
  const fx = s3Fixture();
  let cp: Running;
  let conn: string;

  beforeAll(async () => {
    await fx.start();
    const bucket = await fx.createBucket();
    await fx.put(bucket, 'in/a.txt', 'hello');
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_MIN_INTERVAL_MS: '500' } });
    conn = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await fx.stop();
  });

  it('a one-shot cron ("this second, this day, this year") runs once at its match', async () => {
    const t = new Date(Date.now() + 4000);
    const cron = `${t.getUTCSeconds()} ${t.getUTCMinutes()} ${t.getUTCHours()} ${t.getUTCDate()} ${t.getUTCMonth() + 1} * ${t.getUTCFullYear()}`;
    const created = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'once', prefix: 'in/', schedule: cron })).automation;
    expect(created.state).toBe('active');
    expect(Date.parse(created.next_run_at)).toBe(Math.floor(t.getTime() / 1000) * 1000);
    // The moment has passed once the automation either ran or was changed by its tick.
    const after = await until('the tick of the match', async () => {
      const a = await automation(cp, created.id);
      return a.runs > 0 || a.state !== 'active' || a.last_error ? a : null;
    });
    expect(after.last_error).toBeNull();
    expect(after.runs).toBe(1);
    expect(after.last_job_id).toMatch(/^imp_/);
    expect(after.next_run_at).toBeNull();
  });
});
