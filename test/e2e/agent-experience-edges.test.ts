import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { KEY_ID, SECRET, startS3Env, uniqueName, type S3Env } from '../helpers/s3env.js';

/**
 * What an agent reading only the text needs, and connector lifecycle edges, over stdio against fauxqs
 * behind our fault proxy: archived storage classes in browse's text; leaving FAILED takes passing
 * checks; an unparsable endpoint is not echoed with the password in it; job file pages keep to the
 * text budget; union-typed fields list what they accept; an export automation needs an index to read.
 */
describe('agent experience and connector lifecycle edges', () => {
  let env: S3Env;
  let cp: Running;

  beforeAll(async () => {
    env = await startS3Env(['ax-cold', 'ax-health', 'ax-long', 'ax-misc']);
    await env.s3.put('ax-cold', 'in/a.txt', 'a\n');
    await env.s3.put('ax-cold', 'in/cold.pdf', 'cold');
    await env.s3.put('ax-health', 'in/a.txt', 'a\n');
    for (let i = 0; i < 120; i++) await env.s3.put('ax-long', `d/${String(i).padStart(4, '0')}${'x'.repeat(1000)}`, `v${i}`);
    await env.s3.put('ax-misc', 'in/a.txt', 'a\n');
    // A key that almost matches a many-star glob: picomatch's regex took minutes on it (the whole server with it).
    await env.s3.put('ax-misc', `r/${'a'.repeat(1000)}`, 'a');
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('browse_connector text shows an archived object’s storage_class (README: "shown with their storage_class by browse")', async () => {
    // fauxqs always answers STANDARD: the proxy rewrites one listing entry to GLACIER, as S3 answers it.
    env.proxy.addFault({
      match: { op: 'ListObjects' },
      times: Infinity,
      action: { type: 'transform', fn: (b: string) => b.replace(/(<Key>in\/cold\.pdf<\/Key>[\s\S]*?)<StorageClass>[A-Z_]+<\/StorageClass>/, '$1<StorageClass>GLACIER</StorageClass>') },
    });
    try {
      const id = (await cp.ok('create_connector', env.connector('ax-cold'))).connector.id;
      const r = await cp.call('browse_connector', { connector_id: id });
      expect(r.data.objects.find((o: { key: string }) => o.key === 'in/cold.pdf').storage_class).toBe('GLACIER');
      // The text too: a fourth column, and the summary says such objects need a restore.
      expect(r.text).toContain('"columns":["key","size","modified","class"]');
      expect(r.text).toContain('["in/cold.pdf",4,');
      expect(r.text).toMatch(/"GLACIER"\]/);
      expect(r.text).toMatch(/1 in another storage class .*need a restore/);
    } finally {
      env.proxy.clearFaults();
    }
  });

  it('update_connector {status: "ACTIVE"} does not clear FAILED without a passing check', async () => {
    const id = (await cp.ok('create_connector', env.connector('ax-health'))).connector.id;
    env.proxy.addFault({ match: { op: 'ListObjects' }, times: Infinity, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
    try {
      for (let i = 0; i < 5; i++) await cp.ok('test_connector', { connector_id: id });
      expect((await cp.ok('get_connector', { connector_id: id })).connector.status).toBe('FAILED');
      // The storage still refuses; the FAILED error's own fix says "run test_connector".
      const r = await cp.call('update_connector', { connector_id: id, status: 'ACTIVE' });
      expect(r.isError).toBe(true);
      expect(r.text).toMatch(/connector stays FAILED: list check failed/);
      expect((await cp.ok('get_connector', { connector_id: id })).connector.status).toBe('FAILED');
      env.proxy.clearFaults();
      // The storage answers again: the same call passes its checks and clears the failure.
      const ok = await cp.ok('update_connector', { connector_id: id, status: 'ACTIVE' });
      expect(ok.connector).toMatchObject({ status: 'ACTIVE', last_error: null, consecutive_failures: 0 });
    } finally {
      env.proxy.clearFaults();
    }
  });

  it('update_connector with credentials that pass their checks on a FAILED connector makes it ACTIVE (or says to run test_connector)', async () => {
    const id = (await cp.ok('create_connector', { ...env.connector('ax-health'), name: uniqueName('fix') })).connector.id;
    env.proxy.addFault({ match: { credential: 'AKIABADBADBADBAD0001' }, times: Infinity, action: { type: 'status', status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' } });
    try {
      await cp.ok('update_connector', { connector_id: id, validate: false, credentials: { type: 'access_key', access_key_id: 'AKIABADBADBADBAD0001', secret_access_key: 'not-the-secret' } });
      for (let i = 0; i < 5; i++) await cp.ok('test_connector', { connector_id: id });
      expect((await cp.ok('get_connector', { connector_id: id })).connector.status).toBe('FAILED');
      // The fix: the right keys. The update runs auth/list/read and they pass.
      const r = await cp.call('update_connector', { connector_id: id, credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET } });
      expect(r.isError).toBe(false);
      expect(r.data.connector).toMatchObject({ status: 'ACTIVE', last_error: null });
    } finally {
      env.proxy.clearFaults();
    }
  });

  it('an endpoint that is "not a URL" is not echoed back with the secret it holds', async () => {
    // AWS secrets contain "/": put in the URL's userinfo, it makes the URL unparsable.
    // WHATWG URL takes "https:/", "https:" and "https:\\" for "https://" too.
    const leaked = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzLEAKEDKEY';
    for (const scheme of ['http://', 'https:/', 'https:', 'https:\\\\']) {
      const r = await cp.call('create_connector', { ...env.connector('ax-misc'), endpoint: `${scheme}AKIAIOSFODNN7EXAMPLE:${leaked}@127.0.0.1:1` });
      expect(r.isError, scheme).toBe(true);
      expect(r.data.error.field).toBe('endpoint');
      expect(r.text, scheme).not.toContain(leaked);
      expect(r.text).toContain('"[redacted]@127.0.0.1:1"');
      expect(JSON.stringify(r.data)).not.toContain(leaked);
    }
  });

  it('import_status files pages stay compact with long keys, like browse_connector and list_index_items', async () => {
    const id = (await cp.ok('create_connector', env.connector('ax-long'))).connector.id;
    const job = await cp.ok('start_import', { connector_id: id, index: 'ax-long' });
    await waitForJob(cp, job.job_id);
    const items = await cp.call('list_index_items', { index: 'ax-long' });
    expect(items.text.length).toBeLessThan(16_000);
    const keys = new Set<string>();
    let cursor: string | undefined;
    do {
      const st = await cp.call('import_status', { job_id: job.job_id, files_status: 'all', limit: 1000, ...(cursor ? { cursor } : {}) });
      expect(st.text.length).toBeLessThan(16_000);
      for (const f of st.data.files) keys.add(f.key);
      cursor = st.data.next_cursor ?? undefined;
    } while (cursor);
    // Every file on some page, none twice, none cut.
    expect(keys.size).toBe(120);
    expect([...keys].every((k) => k.length === 1006)).toBe(true);
    const logs = await cp.call('import_logs', { job_id: job.job_id, limit: 1000 });
    expect(logs.text.length).toBeLessThan(16_000);
  });

  it('a wrong value for a union-typed field lists what is accepted', async () => {
    const id = (await cp.ok('create_connector', env.connector('ax-misc', { name: uniqueName('u') }))).connector.id;
    const job = await cp.ok('start_import', { connector_id: id, index: 'ax-misc' });
    await waitForJob(cp, job.job_id);
    const r = await cp.call('import_status', { job_id: job.job_id, files_status: 'FAILED' });
    expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: 'files_status' });
    expect(r.text).toContain('"failed"');
    expect(r.data.error.fix).toMatch(/^Give files_status as one of: "pending", .*"all"\.$/);
    // A GCS key file pasted as an object (what an agent reading key.json does) gets the same non-answer.
    const g = await cp.call('create_connector', {
      name: uniqueName('g'),
      provider: 'gcs',
      bucket: 'some-bucket',
      validate: false,
      credentials: { type: 'service_account', json: { type: 'service_account', client_email: 'a@b.iam.gserviceaccount.com', private_key: 'k' } },
    });
    expect(g.data.error).toMatchObject({ kind: 'config_invalid', field: 'credentials.json' });
    expect(g.data.error.message).not.toBe('credentials.json: Invalid input');
    expect(g.data.error.fix).toMatch(/^Give json as a string; or \{"env": …\}; or \{"file": …\}/);
  });

  it('create_automation {kind: "export"} on an index that does not exist is refused like run_automation_now refuses it', async () => {
    const id = (await cp.ok('create_connector', env.connector('ax-misc', { name: uniqueName('e'), scopes: ['import', 'export'], export_base_path: 'out/' }))).connector.id;
    const r = await cp.call('create_automation', { kind: 'export', connector_id: id, index: 'no-such-index', schedule: '1h', name: uniqueName('exp') });
    expect(r.isError).toBe(true);
    expect(r.data.error).toMatchObject({ kind: 'not_found', field: 'index' });
  });

  it('an export automation may read an index an import automation fills', async () => {
    const id = (await cp.ok('create_connector', env.connector('ax-misc', { name: uniqueName('io'), scopes: ['import', 'export'], export_base_path: 'out/' }))).connector.id;
    await cp.ok('create_automation', { kind: 'import', connector_id: id, index: 'fed-later', schedule: '1h', name: uniqueName('imp') });
    const r = await cp.call('create_automation', { kind: 'export', connector_id: id, index: 'fed-later', schedule: '1h', name: uniqueName('exp') });
    expect(r.isError).toBe(false);
  });

  it('a misspelled field is named with the one meant, and every other problem in the same answer', async () => {
    const r = await cp.call('start_import', { connectorId: 'conn_x', index: '', dryRun: true });
    expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: 'connectorId' });
    expect(r.data.error.fix).toMatch(/^Did you mean connector_id, dry_run\? Also: index invalid\.$/);
    const other = await cp.call('create_connector', { ...env.connector('ax-misc', { name: uniqueName('p') }), project_id: 'p1' });
    expect(other.data.error).toMatchObject({ kind: 'config_invalid', field: 'project_id' });
    expect(other.text).toContain('project_id is a field of gcs connectors; s3 connectors do not use it');
    const unknown = await cp.call('list_imports', { connector_id: 'conn_nope' });
    expect(unknown.data.error).toMatchObject({ kind: 'not_found', field: 'connector_id' });
    const noIndex = await cp.call('list_imports', { index: 'no-such-index' });
    expect(noIndex.data.error).toMatchObject({ kind: 'not_found', field: 'index' });
  });

  it('a glob with many stars over a long key that almost matches answers at once (browse, import dry run, exclude)', async () => {
    const id = (await cp.ok('create_connector', { ...env.connector('ax-misc'), name: uniqueName() })).connector.id;
    const b = await cp.call('browse_connector', { connector_id: id, prefix: 'r/', pattern: '*a*a*a*a*a*b' });
    expect(b.isError, b.text).toBe(false);
    expect(b.data.objects).toEqual([]);
    expect(b.text).toContain('no object matched');
    const d = await cp.ok('start_import', { connector_id: id, index: 'redos', prefix: 'r/', pattern: '*a*a*a*a*a*a', exclude: ['*a*a*a*a*b'], dry_run: true });
    expect(d.accepted).toBe(1);
    expect((await cp.ok('get_connector', { connector_id: id })).connector.status).toBe('ACTIVE');
  });
});
