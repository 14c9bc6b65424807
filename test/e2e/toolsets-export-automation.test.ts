import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * README "Toolsets": `exports` is the toolset of start_export. A server started without it (an operator
 * who does not let the agent write to buckets) refuses export automations too: create_automation
 * {kind: "export"} answers `unsupported` naming the toolset, so nothing reaches the bucket that way.
 */
describe('--toolsets without exports', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['src', 'dst']);
    await env.s3.put('src', 'a.txt', 'hello');
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('refuses an export automation (no export reaches the bucket)', async () => {
    cp = await startCloudport({ dataDir: tempDir(), args: ['--toolsets', 'connectors,imports,indexes,automations'] });
    expect((await cp.call('start_export', { index: 'i', connector_id: 'conn_x' })).data.error).toMatchObject({ kind: 'unsupported' });
    const src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
    const dst = (await cp.ok('create_connector', env.connector('dst', { scopes: ['export'], export_base_path: 'out' }))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i' })).job_id);
    const r = await cp.call('create_automation', { kind: 'export', connector_id: dst, index: 'i', schedule: '1h' });
    if (!r.isError) {
      const run = await cp.ok('run_automation_now', { automation_id: r.data.automation.id });
      const done = await waitForJob(cp, run.job_id);
      expect.fail(`export automation created and run despite --toolsets without exports: ${JSON.stringify(done.counts)}`);
    }
    expect(r.data.error).toMatchObject({ kind: 'unsupported' });
    expect(r.text).toContain('exports');
  });
});
