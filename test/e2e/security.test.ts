import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, until } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { KEY_ID, SECRET, startS3Env, uniqueName, type S3Env } from '../helpers/s3env.js';

/**
 * Faults of the hostile probe, each over the HTTP front door under the strict policy (loopback
 * allowed by CIDR only, so providers share the policy's agents): redaction scoped to an organization
 * and bounded, providers that close only what they own, read-only keys that write nothing, one path
 * check for export_base_path, and retry_of under the same checks as any start.
 */
describe('security: tenants over HTTP', () => {
  let env: S3Env;
  let dataDir: string;
  let srv: HttpServer;
  let a: HttpClient;
  let b: HttpClient;
  let ro: HttpClient;
  const connector = (extra: Record<string, unknown> = {}) => ({
    name: uniqueName('sec'),
    provider: 's3',
    bucket: 'docs',
    endpoint: env.proxy.endpoint,
    credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET },
    ...extra,
  });

  beforeAll(async () => {
    env = await startS3Env(['docs']);
    for (let i = 0; i < 3; i++) await env.s3.put('docs', `a/${i}.txt`, `doc ${i}`);
    dataDir = tempDir();
    const [keyA, keyB, keyRO] = [await createKey(dataDir, 'acme'), await createKey(dataDir, 'globex'), await createKey(dataDir, 'acme', true)];
    srv = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
    a = await connectHttp(srv.url, keyA);
    b = await connectHttp(srv.url, keyB);
    ro = await connectHttp(srv.url, keyRO);
  });
  afterAll(async () => {
    for (const c of [a, b, ro]) await c?.close().catch(() => {});
    await srv?.stop();
    await env?.stop();
  });

  it('closing one connector\'s provider does not cut another tenant\'s request on the shared agents', async () => {
    const { connector: mine } = await a.ok('create_connector', connector());
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let seen = false;
    env.proxy.resetCounts();
    env.proxy.addFault({ match: { op: 'ListObjects' }, times: 1, action: { type: 'before', run: () => ((seen = true), held) } });
    const browsing = a.call('browse_connector', { connector_id: mine.id, prefix: 'a/' });
    await until('the listing to reach the bucket', async () => seen);
    // Org B's validated create opens a provider and closes it; before the fix that destroyed the shared agents.
    await b.ok('create_connector', connector());
    release();
    const r = await browsing;
    expect(r.isError, r.text).toBe(false);
    expect(r.data.objects.map((o: { key: string }) => o.key)).toEqual(['a/0.txt', 'a/1.txt', 'a/2.txt']);
    // The held listing was answered on its first try: nothing was cut and sent again.
    expect(env.proxy.counts.ListObjects).toBe(2); // the held one, and org B's list check
  });

  it('secrets are bounded in size, and one tenant\'s secret never redacts another tenant\'s output', async () => {
    const huge = await a.call('create_connector', connector({ credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: 'x'.repeat(200_000) } }));
    expect(huge.isError).toBe(true);
    expect(huge.data.error.kind).toBe('config_invalid');
    expect(huge.data.error.field).toBe('credentials.secret_access_key');
    // Org A's access key id is "doesnotexist0000000000" (a header-safe value that a not_found message
    // holds); its provider stays open (and its secrets held) after test_connector.
    const { connector: odd } = await a.ok('create_connector', connector({ credentials: { type: 'access_key', access_key_id: 'doesnotexist0000000000', secret_access_key: SECRET } }));
    await a.ok('test_connector', { connector_id: odd.id });
    const theirs = await b.call('get_connector', { connector_id: 'conn_doesnotexist0000000000' });
    expect(theirs.isError).toBe(true);
    expect(theirs.text).toContain('not found');
    expect(theirs.text).not.toContain('[redacted]');
    // Org A's own output is scrubbed of org A's secret.
    const own = await a.call('get_connector', { connector_id: 'conn_doesnotexist0000000000' });
    expect(own.text).toContain('[redacted]');
  });

  it('a read-only key calls every read-only tool and nothing is written: no PUT or DELETE on the bucket, no row changed; a FAILED connector stays FAILED', async () => {
    const { connector: rw } = await a.ok('create_connector', connector({ scopes: ['import', 'export'], export_base_path: 'out/' }));
    const job = await a.ok('start_import', { connector_id: rw.id, index: 'sec-ro', prefix: 'a/' });
    await until('the import to finish', async () => ['completed', 'completed_with_errors'].includes((await a.ok('import_status', { job_id: job.job_id })).status));
    // A connector made FAILED by five failed checks (the proxy refuses its key).
    const bad = 'AKIABADKEY0000000001';
    env.proxy.addFault({ match: { credential: bad }, times: Infinity, action: { type: 'status', status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' } });
    const { connector: failing } = await a.ok('create_connector', connector({ validate: false, credentials: { type: 'access_key', access_key_id: bad, secret_access_key: SECRET } }));
    for (let i = 0; i < 5; i++) await a.ok('test_connector', { connector_id: failing.id });
    expect((await a.ok('get_connector', { connector_id: failing.id })).connector.status).toBe('FAILED');
    env.proxy.clearFaults();

    const db = new Database(path.join(dataDir, 'cloudport.db'), { readonly: true, fileMustExist: true });
    const snapshot = () => {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
      return JSON.stringify(tables.map((t) => [t.name, db.prepare(`SELECT * FROM "${t.name}"`).all()]));
    };
    try {
      const before = snapshot();
      env.proxy.resetCounts();
      const tools = (await ro.client.listTools()).tools;
      const readOnly = tools.filter((t) => t.annotations?.readOnlyHint).map((t) => t.name).sort();
      expect(readOnly).toContain('test_connector');
      const args: Record<string, Record<string, unknown>> = {
        browse_connector: { connector_id: rw.id },
        get_connector: { connector_id: rw.id },
        test_connector: { connector_id: rw.id },
        import_status: { job_id: job.job_id },
        import_logs: { job_id: job.job_id },
        list_index_items: { index: 'sec-ro' },
        read_item: { index: 'sec-ro', key: 'a/0.txt' },
        search_index: { query: 'x' },
      };
      for (const name of readOnly) {
        const r = await ro.call(name, args[name] ?? {});
        expect(r.isError, `${name}: ${r.text}`).toBe(false);
      }
      const tested = await ro.ok('test_connector', { connector_id: rw.id });
      expect(tested.checks.find((c: { name: string }) => c.name === 'write').status).toBe('skipped');
      // The failing connector passes now, but a read-only caller's test changes nothing: it stays FAILED.
      const again = await ro.ok('test_connector', { connector_id: failing.id });
      expect(again.success).toBe(true);
      expect(again.status).toBe('FAILED');
      expect(env.proxy.counts.PutObject ?? 0).toBe(0);
      expect(env.proxy.counts.DeleteObject ?? 0).toBe(0);
      expect(snapshot()).toBe(before);
    } finally {
      db.close();
    }
    // Refusals for a read-only key say that the key is read-only.
    const refused = await ro.call('create_connector', connector());
    expect(refused.data.error.kind).toBe('permission_denied');
    expect(refused.text).toContain('this API key is read-only');
    expect(refused.text).not.toContain('server runs with --read-only');
  });

  it('export_base_path gets the same path check as path templates', async () => {
    for (const base of ['out\\evil/', '%2e%2e/', 'a/%2e%2e/b', 'out/\u202egpj/', '../out', '/abs', 'a//b']) {
      const r = await a.call('create_connector', connector({ validate: false, scopes: ['import', 'export'], export_base_path: base }));
      expect(r.isError, base).toBe(true);
      expect(r.data.error.kind, base).toBe('config_invalid');
      expect(r.data.error.field, base).toBe('export_base_path');
    }
    const ok = await a.ok('create_connector', connector({ validate: false, scopes: ['import', 'export'], export_base_path: 'exports/2026' }));
    expect(ok.connector.export_base_path).toBe('exports/2026/');
  });

  it('retry_of checks the connector\'s status and import scope like every other start', async () => {
    const { connector: c } = await a.ok('create_connector', connector());
    const job = await a.ok('start_import', { connector_id: c.id, index: 'sec-retry', keys: ['a/0.txt', 'a/missing.txt'] });
    await until('the import to finish', async () => ['completed_with_errors', 'failed'].includes((await a.ok('import_status', { job_id: job.job_id })).status));
    await a.ok('update_connector', { connector_id: c.id, scopes: ['export'], export_base_path: 'out/', validate: false });
    const r = await a.call('start_import', { retry_of: job.job_id });
    expect(r.isError).toBe(true);
    expect(r.data.error.kind).toBe('permission_denied');
    expect(r.data.error.field).toBe('connector_id');
    expect(r.text).toContain('lacks the import scope');
  });

  it('a stdio server refuses to run import work on a store that an HTTP front door serves (its permissive policy would apply to tenants\' jobs)', async () => {
    const refused = await runCli(['--data-dir', dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('served by an HTTP front door');
    expect(refused.stderr).toContain('--workers 0');
    const noWork = await runCli(['--data-dir', dataDir, '--workers', '0']);
    expect(noWork.code, noWork.stderr).toBe(0);
  });
});
