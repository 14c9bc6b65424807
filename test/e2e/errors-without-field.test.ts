import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * README: errors are `<kind>: <message> [field] Fix: …`. Two refusals an agent meets often carry their
 * field too: a misspelled tool name (the call's `name`), and delete_connector refused while a job runs
 * (connector_id, as delete_index's equivalent refusal says [index]).
 */
describe('agent-facing refusals name their field', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['nofield']);
    for (let i = 0; i < 40; i++) await env.s3.put('nofield', `d/${i}.txt`, `v${i}`);
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    env?.proxy.setDelays({});
    await cp?.close();
    await env?.stop();
  });

  it('a misspelled tool name: kind, [field] and fix in the text', async () => {
    const r = await cp.call('list_indexs', {});
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/^config_invalid: unknown tool "list_indexs" \[name\] Fix: /);
  });

  it('delete_connector while its import runs: kind, [connector_id] and fix in the text', async () => {
    const cid = (await cp.ok('create_connector', env.connector('nofield'))).connector.id;
    env.proxy.setDelays({ GetObject: 2000 });
    const job = (await cp.ok('start_import', { connector_id: cid, index: 'nf' })).job_id;
    const r = await cp.call('delete_connector', { connector_id: cid });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/^conflict: .* \[connector_id\] Fix: /);
    await cp.ok('cancel_import', { job_id: job });
    env.proxy.setDelays({});
  });
});
