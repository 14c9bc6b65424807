import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
import { s3Fixture } from '../providers/s3.fixture.js';

/**
 * A cron expression with a field out of range is refused with config_invalid on `schedule`, and the
 * message quotes the value the caller wrote (month 13, day-of-month 0, day-of-month 32), never
 * another one: an agent reading "Invalid value for month: 12" would take December for the culprit.
 */
describe('automations: a cron field out of range is named with the value given', () => {
  const fx = s3Fixture();
  let cp: Running;
  let conn: string;

  beforeAll(async () => {
    await fx.start();
    const bucket = await fx.createBucket();
    cp = await startCloudport({ dataDir: tempDir() });
    conn = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await fx.stop();
  });

  it.each([
    ['0 0 * 13 *', /month: 12/, 'month field "13"'],
    ['0 0 0 * *', /-1\b/, 'day field "0"'],
    ['0 0 32 * *', /day: 31/, 'day field "32"'],
  ])('%s', async (schedule, wrong, named) => {
    const r = await cp.call('create_automation', { kind: 'import', connector_id: conn, index: 'v', schedule });
    expect(r.isError).toBe(true);
    expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: 'schedule' });
    expect(r.data.error.message).not.toMatch(wrong);
    expect(r.text).not.toMatch(wrong);
    expect(r.data.error.message).toContain(named);
  });
});
