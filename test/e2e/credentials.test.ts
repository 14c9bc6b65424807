import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { KEY_ID, SECRET, startS3Env, uniqueName, type S3Env } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startSts } from '../support/sts-stub.mjs';

const ROLE = 'arn:aws:iam::123456789012:role/CloudportImporter';

describe('S3 credentials: role assumption, default chain, region detection', () => {
  let env: S3Env;
  let sts: { endpoint: string; calls: Record<string, number>; stop(): Promise<void> };
  let cp: Running;
  let profileDir: string;

  beforeAll(async () => {
    env = await startS3Env(['creds']);
    await env.s3.put('creds', 'x.txt', 'x');
    sts = await startSts({ externalIds: { 'arn:aws:iam::123456789012:role/NeedsExternal': 'ext-42' } });
    profileDir = tempDir();
    fs.writeFileSync(path.join(profileDir, 'credentials'), `[importer]\naws_access_key_id = AKIAPROFILE000000001\naws_secret_access_key = profile-secret-value-123\n`);
    fs.writeFileSync(path.join(profileDir, 'config'), `[profile importer]\nregion = us-east-1\n`);
    cp = await startCloudport({
      dataDir: tempDir(),
      env: {
        AWS_ACCESS_KEY_ID: 'AKIAENVIRONMENT00001',
        AWS_SECRET_ACCESS_KEY: 'env-chain-secret-value-1',
        AWS_SHARED_CREDENTIALS_FILE: path.join(profileDir, 'credentials'),
        AWS_CONFIG_FILE: path.join(profileDir, 'config'),
      },
    });
  });
  afterAll(async () => {
    await cp?.close();
    await sts?.stop();
    await env?.stop();
  });

  const base = () => ({ name: uniqueName(), provider: 's3', bucket: 'creds', endpoint: env.proxy.endpoint, sts_endpoint: sts.endpoint });

  it('assume_role: the auth check shows the assumed identity, and imports work with the temporary credentials', async () => {
    const r = await cp.ok('create_connector', {
      ...base(),
      credentials: { type: 'assume_role', role_arn: ROLE, session_name: 'agent', base: { access_key_id: KEY_ID, secret_access_key: SECRET } },
    });
    expect(r.connector.credentials).toMatchObject({ type: 'assume_role', hint: 'role/CloudportImporter' });
    expect(r.connector.location).toEqual({ sts_endpoint: sts.endpoint });
    const t = await cp.ok('test_connector', { connector_id: r.connector.id });
    expect(t.checks[0]).toMatchObject({ name: 'auth', status: 'passed' });
    expect(t.checks[0].detail).toContain('assumed-role/CloudportImporter/agent');
    const job = await cp.ok('start_import', { connector_id: r.connector.id, index: 'role' });
    expect((await waitForJob(cp, job.job_id)).status).toBe('completed');
    expect(sts.calls.AssumeRole).toBeGreaterThan(0);
  });

  it('assume_role: a denied role or a wrong external id fails auth with a fix naming the trust policy', async () => {
    let r = await cp.call('create_connector', { ...base(), credentials: { type: 'assume_role', role_arn: 'arn:aws:iam::123456789012:role/denied-role' } });
    expect(r.data.error.kind).toBe('permission_denied');
    expect(r.data.checks[0]).toMatchObject({ name: 'auth', status: 'failed' });
    expect(r.data.checks[0].fix).toMatch(/trust policy/);
    r = await cp.call('create_connector', { ...base(), credentials: { type: 'assume_role', role_arn: 'arn:aws:iam::123456789012:role/NeedsExternal', external_id: 'wrong' } });
    expect(r.data.checks[0].fix).toMatch(/external_id/);
    const ok = await cp.call('create_connector', { ...base(), credentials: { type: 'assume_role', role_arn: 'arn:aws:iam::123456789012:role/NeedsExternal', external_id: 'ext-42' } });
    expect(ok.isError).toBe(false);
    const bad = await cp.call('create_connector', { ...base(), credentials: { type: 'assume_role', role_arn: 'arn:aws:iam::role/oops-not-an-arn' } });
    expect(bad.data.error).toMatchObject({ kind: 'config_invalid', field: 'credentials.role_arn' });
  });

  it('assume_role: credentials about to expire are renewed (AssumeRole is called again)', async () => {
    const shortSts = await startSts({ lifetimeSeconds: 120 });
    try {
      const r = await cp.ok('create_connector', {
        ...base(),
        sts_endpoint: shortSts.endpoint,
        credentials: { type: 'assume_role', role_arn: ROLE, base: { access_key_id: KEY_ID, secret_access_key: SECRET } },
      });
      const before = shortSts.calls.AssumeRole;
      // Each of these requests finds credentials within the SDK's 5-minute refresh window and renews them.
      await cp.ok('browse_connector', { connector_id: r.connector.id });
      await cp.ok('browse_connector', { connector_id: r.connector.id });
      expect(shortSts.calls.AssumeRole).toBeGreaterThan(before);
    } finally {
      await shortSts.stop();
    }
  });

  it('default: the chain finds environment credentials, or a named shared profile', async () => {
    const viaEnv = await cp.ok('create_connector', { ...base(), credentials: { type: 'default' } });
    expect(viaEnv.connector.credentials).toEqual({ type: 'default', hint: 'default chain' });
    const viaProfile = await cp.ok('create_connector', { ...base(), credentials: { type: 'default', profile: 'importer' } });
    expect(viaProfile.connector.credentials.hint).toBe('profile importer');
    const missing = await cp.call('create_connector', { ...base(), credentials: { type: 'default', profile: 'no-such-profile' } });
    expect(missing.isError).toBe(true);
    expect(missing.data.error.kind).toBe('permission_denied');
  });

  it('detects the region from the bucket when none is given, and stores it', async () => {
    // AWS answers HeadBucket with the bucket's region in x-amz-bucket-region (fauxqs does not: the proxy does).
    env.proxy.addFault({ match: { op: 'HeadBucket' }, action: { type: 'status', status: 200, code: 'OK', headers: { 'x-amz-bucket-region': 'eu-west-3' } } });
    const r = await cp.ok('create_connector', { ...env.connector('creds') });
    expect(r.connector.region).toBe('eu-west-3');
    expect((await cp.ok('browse_connector', { connector_id: r.connector.id })).objects).toHaveLength(1);
    const noValidate = await cp.ok('create_connector', { ...env.connector('creds'), validate: false });
    expect(noValidate.connector.region).toBeNull();
  });

  it('never returns or logs the temporary or base secrets', async () => {
    const logs = cp.stderr();
    for (const s of [SECRET, 'env-chain-secret-value-1', 'profile-secret-value-123']) expect(logs).not.toContain(s);
  });
});
