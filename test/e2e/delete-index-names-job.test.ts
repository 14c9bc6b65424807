import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * delete_index refused because a job on the index is running names that job's id in its text, as
 * delete_connector's refusal does, so a text-only agent can cancel it or wait on it (cancel_import /
 * import_status) at once instead of first looking it up with list_imports.
 */
async function text(cp: Running, name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string }> {
  const r = await cp.client.callTool({ name, arguments: args });
  return { isError: !!r.isError, text: (r.content as { text: string }[]).map((c) => c.text).join('\n') };
}

describe('delete_index while a job runs', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['media']);
    for (let i = 0; i < 5; i++) await env.s3.put('media', `f${i}.txt`, `file ${i}`);
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('names the running job like delete_connector does', async () => {
    const connectorId = (await cp.ok('create_connector', env.connector('media'))).connector.id;
    env.proxy.setDelays({ GetObject: 4000 });
    const jobId = (await cp.ok('start_import', { connector_id: connectorId, index: 'slow' })).job_id as string;

    const byConnector = await text(cp, 'delete_connector', { connector_id: connectorId });
    expect(byConnector.isError).toBe(true);
    expect(byConnector.text).toContain(jobId); // the connector's refusal names it

    const byIndex = await text(cp, 'delete_index', { index: 'slow' });
    expect(byIndex.isError).toBe(true);
    expect(byIndex.text).toMatch(/^conflict/);
    expect(byIndex.text).toContain(jobId);

    await cp.ok('cancel_import', { job_id: jobId });
    env.proxy.setDelays({});
    await waitForJob(cp, jobId);
  });
});
