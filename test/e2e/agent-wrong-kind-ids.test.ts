import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A text-only agent that passes an id of another kind (a job id as connector_id, an automation id as
 * job_id, a connector id as automation_id) reads, in the error text, what that id is and which tool
 * takes it, rather than "connector not found" (which reads as if the connector were gone) or "check
 * the job_id returned by start_import" (an automation's id was never one).
 */
async function text(cp: Running, name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string }> {
  const r = await cp.client.callTool({ name, arguments: args });
  return { isError: !!r.isError, text: (r.content as { text: string }[]).map((c) => c.text).join('\n') };
}

describe('ids of the wrong kind', () => {
  let env: S3Env;
  let cp: Running;
  let connectorId: string;
  let jobId: string;
  let automationId: string;
  beforeAll(async () => {
    env = await startS3Env(['media']);
    await env.s3.put('media', 'a.txt', 'alpha');
    cp = await startCloudport({ dataDir: tempDir() });
    connectorId = (await cp.ok('create_connector', env.connector('media'))).connector.id;
    jobId = (await cp.ok('start_import', { connector_id: connectorId, index: 'docs' })).job_id;
    await waitForJob(cp, jobId);
    automationId = (await cp.ok('create_automation', { kind: 'import', connector_id: connectorId, index: 'docs', schedule: '1h' })).automation.id;
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('a job id as connector_id says it is a job id', async () => {
    const r = await text(cp, 'get_connector', { connector_id: jobId });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/\bjob\b/);
  });

  it('an automation id as job_id says it is an automation and how to find its runs', async () => {
    const r = await text(cp, 'import_status', { job_id: automationId });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/\bautomation\b/);
    expect(r.text).toContain('automation_id');
  });

  it('a connector id as automation_id says it is a connector', async () => {
    const r = await text(cp, 'run_automation_now', { automation_id: connectorId });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/\bconnector\b/);
  });
});
