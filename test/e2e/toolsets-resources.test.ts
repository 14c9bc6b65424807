import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Items are MCP resources as read_item reads them: a server whose --toolsets leave read_item out
 * (here connectors,imports) neither lists, advertises nor reads item resources (their URIs answer
 * "resource not found"), while one with `indexes` does. The views stay listed.
 */
describe('--toolsets and item resources', () => {
  let env: S3Env;
  let dataDir: string;
  let cp: Running | undefined;
  beforeAll(async () => {
    env = await startS3Env(['res']);
    await env.s3.put('res', 'a.txt', 'hello');
    dataDir = tempDir();
    const full = await startCloudport({ dataDir });
    const conn = (await full.ok('create_connector', env.connector('res'))).connector.id;
    await waitForJob(full, (await full.ok('start_import', { connector_id: conn, index: 'i' })).job_id);
    expect((await full.client.listResources()).resources.map((r) => r.uri)).toContain('cloudport://indexes/i/items/a.txt');
    await full.close();
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('without indexes: no item listed, no template, a read answers not found', async () => {
    cp = await startCloudport({ dataDir, args: ['--toolsets', 'connectors,imports'] });
    const listed = (await cp.client.listResources()).resources.map((r) => r.uri);
    expect(listed.some((u) => u.startsWith('cloudport://indexes/'))).toBe(false);
    expect(listed.some((u) => u.startsWith('ui://'))).toBe(true);
    expect((await cp.client.listResourceTemplates()).resourceTemplates).toEqual([]);
    const err = (await cp.client.readResource({ uri: 'cloudport://indexes/i/items/a.txt' }).catch((e: unknown) => e)) as { code: number };
    expect(err.code).toBe(-32002);
  });
});
