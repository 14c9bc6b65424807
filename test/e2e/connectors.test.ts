import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { KEY_ID, SECRET, startS3Env, uniqueName, type S3Env } from '../helpers/s3env.js';

/** Every file under dir, recursively, as one buffer per file. */
function allFiles(dir: string): Buffer[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => fs.readFileSync(path.join(e.parentPath, e.name)));
}

describe('connectors over stdio against S3 (fauxqs)', () => {
  let env: S3Env;
  let cp: Running;
  let dataDir: string;
  const texts: string[] = [];
  const FILE_SECRET = 'file-secret-value-0123456789';
  const ENV_SECRET = 'env-secret-value-9876543210';
  let secretFile: string;

  beforeAll(async () => {
    // (not 'health': fauxqs answers GET /health itself)
    env = await startS3Env(['media', 'healthy']);
    await env.s3.put('media', 'a.txt', 'hello');
    dataDir = tempDir();
    secretFile = path.join(tempDir(), 'secret.txt');
    fs.writeFileSync(secretFile, FILE_SECRET + '\n');
    cp = await startCloudport({ dataDir, env: { MY_S3_SECRET: ENV_SECRET, CLOUDPORT_LOG_LEVEL: 'debug' } });
    const call = cp.call.bind(cp);
    cp.call = async (name, args) => {
      const r = await call(name, args);
      texts.push(r.text, JSON.stringify(r.data));
      return r;
    };
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('creates a tested connector and reads it back without any secret', async () => {
    const r = await cp.ok('create_connector', { ...env.connector('media'), description: 'test bucket', metadata: { team: 'a' } });
    const c = r.connector;
    expect(c).toMatchObject({ provider: 's3', bucket: 'media', status: 'ACTIVE', is_active: true, scopes: ['import'], import_mode: 'all', consecutive_failures: 0, last_error: null });
    expect(c.id).toMatch(/^conn_/);
    expect(c.credentials).toEqual({ type: 'access_key', hint: `…${KEY_ID.slice(-4)}` });
    const got = await cp.ok('get_connector', { connector_id: c.id });
    expect(got.connector).toEqual(c);
  });

  it('refuses a duplicate name with conflict naming the field', async () => {
    const args = env.connector('media');
    await cp.ok('create_connector', args);
    const r = await cp.call('create_connector', args);
    expect(r.isError).toBe(true);
    expect(r.data.error).toMatchObject({ kind: 'conflict', field: 'name', temporary: false });
    expect(r.text).toMatch(/^conflict: /);
  });

  it('lists with limit and cursor, and filters by status', async () => {
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await cp.ok('list_connectors', { limit: 1, ...(cursor ? { cursor } : {}) });
      expect(page.connectors.length).toBeLessThanOrEqual(1);
      all.push(...page.connectors.map((c: { id: string }) => c.id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBeGreaterThanOrEqual(2);
    const failed = await cp.ok('list_connectors', { status: 'FAILED' });
    expect(failed.connectors.every((c: { status: string }) => c.status === 'FAILED')).toBe(true);
    const bad = await cp.call('list_connectors', { cursor: 'garbage' });
    expect(bad.data.error).toMatchObject({ kind: 'config_invalid', field: 'cursor' });
  });

  it('answers unknown ids with not_found naming the id', async () => {
    for (const tool of ['get_connector', 'test_connector', 'browse_connector', 'delete_connector', 'update_connector']) {
      const r = await cp.call(tool, { connector_id: 'conn_doesnotexist' });
      expect(r.isError, tool).toBe(true);
      expect(r.data.error.kind, tool).toBe('not_found');
      expect(r.text, tool).toContain('conn_doesnotexist');
    }
    const s = await cp.call('import_status', { job_id: 'imp_nope' });
    expect(s.data.error.kind).toBe('not_found');
  });

  it('rejects invalid fields with config_invalid naming the field and what is allowed', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...env.connector('media'), bucket: 's3://media/x' }, 'bucket'],
      [{ ...env.connector('media'), endpoint: 'ftp://127.0.0.1' }, 'endpoint'],
      [{ ...env.connector('media'), endpoint: 'http://user:pw@127.0.0.1' }, 'endpoint'],
      [{ ...env.connector('media'), name: '' }, 'name'],
      [{ ...env.connector('media'), region: 'Not A Region' }, 'region'],
      [{ ...env.connector('media'), scopes: ['read'] }, 'scopes[0]'],
      [{ ...env.connector('media'), export_base_path: '../up' }, 'export_base_path'],
      [{ ...env.connector('media'), bucket_name: 'x' }, 'bucket_name'],
      [{ ...env.connector('media'), credentials: { type: 'access_key', access_key_id: 'x' } }, 'credentials.secret_access_key'],
      [{ ...env.connector('media'), credentials: { type: 'password', password: 'x' } }, 'credentials.type'],
    ];
    for (const [args, field] of cases) {
      const r = await cp.call('create_connector', args);
      expect(r.isError, field).toBe(true);
      expect(r.data.error.kind, field).toBe('config_invalid');
      expect(r.data.error.field, JSON.stringify(r.data.error)).toBe(field);
    }
  });

  it('translates wrong secret, missing bucket and access denied into our kinds with fixes, saving nothing', async () => {
    const before = (await cp.ok('list_connectors', { limit: 1000 })).connectors.length;
    env.proxy.addFault({ match: { op: 'ListObjects' }, action: { type: 'status', status: 403, code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match' } });
    let r = await cp.call('create_connector', env.connector('media'));
    expect(r.data.error).toMatchObject({ kind: 'permission_denied' });
    expect(r.data.error.fix).toMatch(/secret_access_key/);
    expect(r.data.checks.find((c: { name: string }) => c.name === 'auth')).toMatchObject({ status: 'failed', ok: false });
    expect(r.text).not.toMatch(/<Error>|<Code>/);

    r = await cp.call('create_connector', env.connector('no-such-bucket'));
    expect(r.data.error).toMatchObject({ kind: 'not_found' });
    expect(r.data.error.fix).toMatch(/bucket name/i);

    env.proxy.addFault({ match: { op: 'ListObjects' }, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
    r = await cp.call('create_connector', env.connector('media'));
    expect(r.data.error.kind).toBe('permission_denied');
    const list = r.data.checks.find((c: { name: string }) => c.name === 'list');
    expect(list).toMatchObject({ status: 'failed' });
    expect(list.fix).toContain('s3:ListBucket');
    expect(list.fix).toContain('arn:aws:s3:::media');
    expect(r.data.checks.find((c: { name: string }) => c.name === 'auth').status).toBe('passed');
    expect(r.data.checks.find((c: { name: string }) => c.name === 'read').status).toBe('skipped');

    env.proxy.addFault({ match: { op: 'GetObject' }, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
    r = await cp.call('create_connector', env.connector('media'));
    expect(r.data.checks.find((c: { name: string }) => c.name === 'read').fix).toContain('s3:GetObject');
    expect((await cp.ok('list_connectors', { limit: 1000 })).connectors.length).toBe(before);
  });

  it('retries throttling (503 SlowDown) transparently', async () => {
    const { connector } = await cp.ok('create_connector', env.connector('media'));
    env.proxy.addFault({ match: { op: 'ListObjects' }, action: { type: 'status', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' } });
    const r = await cp.ok('browse_connector', { connector_id: connector.id });
    expect(r.objects.map((o: { key: string }) => o.key)).toEqual(['a.txt']);
  });

  it('takes secrets as env and file references, shows only their names, and names what is missing', async () => {
    const viaEnv = await cp.ok('create_connector', { ...env.connector('media'), credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: { env: 'MY_S3_SECRET' } } });
    expect(viaEnv.connector.credentials.refs).toEqual([{ field: 'credentials.secret_access_key', env: 'MY_S3_SECRET' }]);
    const viaFile = await cp.ok('create_connector', { ...env.connector('media'), credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: { file: secretFile } } });
    expect(viaFile.connector.credentials.refs).toEqual([{ field: 'credentials.secret_access_key', file: secretFile }]);
    expect((await cp.ok('test_connector', { connector_id: viaFile.connector.id })).success).toBe(true);

    let r = await cp.call('create_connector', { ...env.connector('media'), credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: { env: 'NOT_SET_ANYWHERE' } } });
    expect(r.data.error.kind).toBe('config_invalid');
    expect(r.text).toContain('NOT_SET_ANYWHERE');
    r = await cp.call('create_connector', { ...env.connector('media'), credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: { file: '/nonexistent/secret' } } });
    expect(r.data.error.kind).toBe('config_invalid');
    expect(r.text).toContain('/nonexistent/secret');
  });

  it('keeps health: failures count up, 5 in a row make it FAILED, a success makes it ACTIVE again', async () => {
    const { connector } = await cp.ok('create_connector', { ...env.connector('healthy'), validate: false });
    env.proxy.addFault({ match: { op: 'ListObjects' }, times: 5, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'denied' } });
    let t = await cp.ok('test_connector', { connector_id: connector.id });
    expect(t.success).toBe(false);
    let c = (await cp.ok('get_connector', { connector_id: connector.id })).connector;
    expect(c).toMatchObject({ status: 'ACTIVE', consecutive_failures: 1 });
    expect(c.last_error).toMatch(/list/);
    for (let i = 0; i < 4; i++) t = await cp.ok('test_connector', { connector_id: connector.id });
    expect(t.status).toBe('FAILED');
    c = (await cp.ok('get_connector', { connector_id: connector.id })).connector;
    expect(c).toMatchObject({ status: 'FAILED', consecutive_failures: 5, is_active: false });
    const refused = await cp.call('start_import', { connector_id: connector.id, index: 'x' });
    expect(refused.data.error).toMatchObject({ kind: 'conflict', field: 'connector_id' });
    expect(refused.data.error.fix).toMatch(/test_connector/);
    t = await cp.ok('test_connector', { connector_id: connector.id });
    expect(t).toMatchObject({ success: true, status: 'ACTIVE' });
    c = (await cp.ok('get_connector', { connector_id: connector.id })).connector;
    expect(c).toMatchObject({ status: 'ACTIVE', consecutive_failures: 0, last_error: null });
  });

  it('updates settings and status; SUSPENDED refuses imports; ARCHIVED is final', async () => {
    const { connector } = await cp.ok('create_connector', env.connector('media'));
    const u = await cp.ok('update_connector', { connector_id: connector.id, description: 'changed', status: 'SUSPENDED', import_mode: 'new_only' });
    expect(u.connector).toMatchObject({ description: 'changed', status: 'SUSPENDED', import_mode: 'new_only', is_active: false });
    const refused = await cp.call('start_import', { connector_id: connector.id, index: 'x' });
    expect(refused.data.error.kind).toBe('conflict');
    expect(refused.data.error.fix).toMatch(/ACTIVE/);
    const bad = await cp.call('update_connector', { connector_id: connector.id, status: 'FAILED' });
    expect(bad.data.error).toMatchObject({ kind: 'config_invalid', field: 'status' });
    await cp.ok('update_connector', { connector_id: connector.id, status: 'ARCHIVED' });
    const again = await cp.call('update_connector', { connector_id: connector.id, status: 'ACTIVE' });
    expect(again.data.error.kind).toBe('conflict');
    // Final: no request reaches its storage any more, not a browse, not a test.
    for (const tool of ['browse_connector', 'test_connector']) {
      const archived = await cp.call(tool, { connector_id: connector.id });
      expect(archived.data.error, tool).toMatchObject({ kind: 'conflict', field: 'connector_id' });
      expect(archived.text, tool).toMatch(/is ARCHIVED, which is final: it cannot be (browsed|tested)/);
    }
    const badSecret = await cp.call('update_connector', { connector_id: (await cp.ok('create_connector', env.connector('media'))).connector.id, bucket: 'no-such-bucket' });
    expect(badSecret.data.error.kind).toBe('not_found');
  });

  it('refuses imports without the import scope', async () => {
    const { connector } = await cp.ok('create_connector', { ...env.connector('media'), scopes: ['export'], export_base_path: 'out' });
    expect(connector.export_base_path).toBe('out/');
    const t = await cp.ok('test_connector', { connector_id: connector.id });
    expect(t.checks.map((c: { name: string; status: string }) => `${c.name}:${c.status}`)).toEqual(['auth:passed', 'list:passed', 'read:passed', 'write:passed']);
    const r = await cp.call('start_import', { connector_id: connector.id, index: 'x' });
    expect(r.data.error).toMatchObject({ kind: 'permission_denied', field: 'connector_id' });
  });

  it('deletes a connector (destructive) and then it is gone', async () => {
    const { connector } = await cp.ok('create_connector', env.connector('media'));
    await cp.ok('delete_connector', { connector_id: connector.id });
    expect((await cp.call('get_connector', { connector_id: connector.id })).data.error.kind).toBe('not_found');
  });

  it('never shows a secret: not in results, logs, or the data dir (encrypted at rest)', async () => {
    for (const t of texts) {
      expect(t).not.toContain(SECRET);
      expect(t).not.toContain(ENV_SECRET);
      expect(t).not.toContain(FILE_SECRET);
    }
    const logs = cp.stderr();
    expect(logs.length).toBeGreaterThan(0);
    for (const s of [SECRET, ENV_SECRET, FILE_SECRET]) expect(logs).not.toContain(s);
    for (const f of allFiles(dataDir)) {
      expect(f.includes(SECRET)).toBe(false);
      expect(f.includes(Buffer.from(SECRET).toString('base64'))).toBe(false);
    }
    const key = fs.statSync(path.join(dataDir, 'master.key'));
    expect(key.mode & 0o777).toBe(0o600);
  });
});

void uniqueName;
