import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * An automation run that found nothing to do is pruned when the next run starts (README). An agent
 * that follows the job id run_automation_now gave it, after that, reads a not_found whose text says
 * such a run may have been pruned and where the automation's runs are (list_imports {automation_id}
 * / list_automations), not "Check the job_id returned by start_import or start_export", which tells
 * it that it copied the id wrong.
 */
async function text(cp: Running, name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string }> {
  const r = await cp.client.callTool({ name, arguments: args });
  return { isError: !!r.isError, text: (r.content as { text: string }[]).map((c) => c.text).join('\n') };
}

describe('a pruned automation run', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['media']);
    await env.s3.put('media', 'reports/a.pdf', 'not really a pdf');
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('answers not_found with a text that says it may have been pruned', async () => {
    const connectorId = (await cp.ok('create_connector', env.connector('media'))).connector.id;
    const automationId = (await cp.ok('create_automation', { kind: 'import', connector_id: connectorId, index: 'au', pattern: '**/*.xlsx', schedule: '15m' })).automation.id;
    const first = (await cp.ok('run_automation_now', { automation_id: automationId })).job_id as string;
    await waitForJob(cp, first);
    const second = (await cp.ok('run_automation_now', { automation_id: automationId })).job_id as string;
    await waitForJob(cp, second);

    const r = await text(cp, 'import_status', { job_id: first });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/^not_found/);
    expect(r.text).toMatch(/prun|removed|retention/i);
    expect(r.text).toContain('automation');
  });
});
