import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * delete_connector also deletes the connector's automations (README, "Deleting"). Its result says so:
 * the text names how many automations went with it (and their ids in the JSON line), so an agent
 * that deleted a connector knows that schedules it did not mention are gone, rather than reading only
 * "deleted connector conn_…".
 */

let env: S3Env;
let cp: Running;

beforeAll(async () => {
  env = await startS3Env(['del-bucket']);
  await env.s3.put('del-bucket', 'a.txt', 'a');
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data') });
}, 60_000);
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('delete_connector with automations', () => {
  it('says how many automations were deleted with the connector, and which', async () => {
    const c = (await cp.ok('create_connector', env.connector('del-bucket'))).connector;
    const a1 = (await cp.ok('create_automation', { kind: 'import', connector_id: c.id, index: 'd1', schedule: '1h' })).automation;
    const a2 = (await cp.ok('create_automation', { kind: 'import', connector_id: c.id, index: 'd2', schedule: '1h' })).automation;
    const r = await cp.call('delete_connector', { connector_id: c.id });
    expect(r.isError).toBe(false);
    expect((await cp.ok('list_automations', {})).automations).toHaveLength(0);
    const summary = r.text.split('\n')[0]!;
    expect(summary).toMatch(/2 automation/);
    expect(r.text).toContain(a1.id);
    expect(r.text).toContain(a2.id);
  });
});
