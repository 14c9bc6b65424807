import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * start_import {retry_of} on a finished job whose connector was deleted since: the answer's fix does
 * not send the agent to start_import on that deleted connector (which can only answer not_found);
 * it says the connector is gone. Jobs outlive their connector (README: delete_connector keeps past
 * jobs), so an agent meets this when it retries an old job.
 */
async function text(cp: Running, name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string }> {
  const r = await cp.client.callTool({ name, arguments: args });
  return { isError: !!r.isError, text: (r.content as { text: string }[]).map((c) => c.text).join('\n') };
}

describe('retry_of after delete_connector', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['media']);
    await env.s3.put('media', 'a.txt', 'alpha');
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('names the deleted connector instead of proposing a start_import on it', async () => {
    const connectorId = (await cp.ok('create_connector', env.connector('media'))).connector.id;
    const jobId = (await cp.ok('start_import', { connector_id: connectorId, index: 'docs' })).job_id;
    await waitForJob(cp, jobId);
    await cp.ok('delete_connector', { connector_id: connectorId });

    const r = await text(cp, 'start_import', { retry_of: jobId });
    expect(r.isError).toBe(true);
    const proposed = /start_import (\{.*?\}) imports/.exec(r.text);
    if (proposed) {
      const follow = await text(cp, 'start_import', JSON.parse(proposed[1]!));
      expect(follow.text).not.toMatch(/^not_found: connector/);
    }
    expect(r.text).toMatch(/deleted|no longer exists|not found/);
  });
});
