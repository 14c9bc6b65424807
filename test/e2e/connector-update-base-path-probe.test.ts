import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * create_connector with the export scope probes a write under export_base_path and refuses a base
 * path the credentials cannot write to ("write check failed … Grant s3:PutObject … on
 * arn:aws:s3:::bucket/locked/*"). update_connector holds to the same rule: moving an export
 * connector's export_base_path to a folder it cannot write is tested first and refused, with nothing
 * saved, instead of being accepted and failing every later export.
 */

let env: S3Env;
let cp: Running;

beforeAll(async () => {
  env = await startS3Env(['ebp-bucket']);
  await env.s3.put('ebp-bucket', 'a.txt', 'a');
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data') });
}, 60_000);
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('update_connector export_base_path', () => {
  it('probes the write under the new base path as create_connector does', async () => {
    env.proxy.addFault({ match: { method: 'PUT', keyIncludes: 'locked/' }, times: Infinity, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
    const created = await cp.call('create_connector', { ...env.connector('ebp-bucket'), scopes: ['import', 'export'], export_base_path: 'locked/' });
    expect(created.isError).toBe(true);
    expect(created.text).toContain('write check failed');

    const c = (await cp.ok('create_connector', { ...env.connector('ebp-bucket'), scopes: ['import', 'export'], export_base_path: 'open/' })).connector;
    const u = await cp.call('update_connector', { connector_id: c.id, export_base_path: 'locked/' });
    expect(u.isError).toBe(true);
    expect(u.text).toContain('write check failed');
    expect((await cp.ok('get_connector', { connector_id: c.id })).connector.export_base_path).toBe('open/');
  });
});
