import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, SECRET, KEY_ID, type S3Env } from '../helpers/s3env.js';

/**
 * An assume_role connector whose STS endpoint cannot be reached (connection refused) is refused the
 * way any unreachable endpoint is (README: "an endpoint that cannot be reached (refused, unknown host,
 * connect timeout) is config_invalid with temporary: true"): kind config_invalid on the field
 * sts_endpoint, temporary, with a message that names the STS endpoint and the cause and a fix —
 * not `unexpected: role assumption failed: Error` with no field and no fix. The same holds for
 * test_connector and browse_connector of a saved connector whose STS endpoint went away. An endpoint
 * that answers but is no STS (here the S3 server itself: "Unknown action") is config_invalid on
 * sts_endpoint too, with a fix, not `unexpected`.
 */

let env: S3Env;
let cp: Running;
let deadPort: number;

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  env = await startS3Env(['sts-bucket']);
  await env.s3.put('sts-bucket', 'a.txt', 'a');
  deadPort = await closedPort();
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data') });
}, 60_000);
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

const roleCreds = { type: 'assume_role', role_arn: 'arn:aws:iam::123456789012:role/Importer', base: { access_key_id: KEY_ID, secret_access_key: SECRET } };

describe('assume_role with an unreachable STS endpoint', () => {
  it('create_connector answers config_invalid on sts_endpoint, temporary, naming the endpoint', async () => {
    const sts = `http://127.0.0.1:${deadPort}`;
    const r = await cp.call('create_connector', { ...env.connector('sts-bucket'), sts_endpoint: sts, credentials: roleCreds });
    expect(r.isError).toBe(true);
    const e = r.data.error;
    expect(e.kind).toBe('config_invalid');
    expect(e.field).toBe('sts_endpoint');
    expect(e.temporary).toBe(true);
    expect(e.message).toContain(`127.0.0.1:${deadPort}`);
    expect(e.message).not.toMatch(/failed: Error$/);
    expect(e.fix).toBeTruthy();
    expect((await cp.ok('list_connectors', {})).connectors).toHaveLength(0);
  });

  it('test_connector of a saved connector names the STS endpoint it cannot reach', async () => {
    const sts = `http://127.0.0.1:${deadPort}`;
    const c = (await cp.ok('create_connector', { ...env.connector('sts-bucket'), sts_endpoint: sts, credentials: roleCreds, validate: false })).connector;
    const t = await cp.ok('test_connector', { connector_id: c.id });
    expect(t.success).toBe(false);
    const auth = t.checks.find((x: any) => x.name === 'auth');
    expect(auth.detail).toContain(`127.0.0.1:${deadPort}`);
    expect(auth.fix).toBeTruthy();
    const b = await cp.call('browse_connector', { connector_id: c.id });
    expect(b.isError).toBe(true);
    expect(b.data.error.kind).toBe('config_invalid');
    expect(b.data.error.field).toBe('sts_endpoint');
  });

  it('an sts_endpoint that is no STS service: config_invalid on sts_endpoint with a fix', async () => {
    const r = await cp.call('create_connector', { ...env.connector('sts-bucket'), name: 'not-sts', sts_endpoint: env.s3.endpoint, credentials: roleCreds });
    expect(r.isError).toBe(true);
    const e = r.data.error;
    expect(e.kind).toBe('config_invalid');
    expect(e.field).toBe('sts_endpoint');
    expect(e.fix).toContain('sts_endpoint');
    expect(r.text).toContain('Fix:');
  });
});
