import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer } from '../helpers/http.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * What an agent pays for in tools/list, measured on the built server over stdio with the SDK client, and
 * --toolsets, which exposes fewer tools (refusing the others at call time) over stdio and HTTP alike.
 */
const KIB = 1024;
const CONNECTORS = ['browse_connector', 'create_connector', 'delete_connector', 'get_connector', 'list_connectors', 'test_connector', 'update_connector'];
const JOBS = ['cancel_import', 'import_logs', 'import_status', 'list_imports'];
const INDEXES = ['delete_index', 'delete_item', 'list_index_items', 'list_indexes', 'read_item'];
const AUTOMATIONS = ['create_automation', 'delete_automation', 'list_automations', 'run_automation_now', 'update_automation'];
const names = async (cp: Running) => (await cp.client.listTools()).tools.map((t) => t.name).sort();

describe('tool budget', () => {
  it('the full tools/list is within 24 KiB of compact JSON and no tool is over 3 KiB', async () => {
    const cp = await startCloudport({ dataDir: tempDir() });
    const { tools } = await cp.client.listTools();
    await cp.close();
    expect(tools).toHaveLength(25);
    const total = JSON.stringify(tools).length;
    expect(total).toBeLessThanOrEqual(24 * KIB);
    for (const t of tools) expect(JSON.stringify(t).length, t.name).toBeLessThanOrEqual(3 * KIB);
  });
});

describe('--toolsets', () => {
  it('--toolsets connectors lists only the connector tools and refuses the others with kind unsupported', async () => {
    const cp = await startCloudport({ dataDir: tempDir(), args: ['--toolsets', 'connectors'] });
    expect(await names(cp)).toEqual(CONNECTORS);
    const r = await cp.call('start_import', { connector_id: 'conn_x', index: 'x' });
    expect(r.isError).toBe(true);
    expect(r.data.error).toMatchObject({ kind: 'unsupported' });
    expect(r.data.error.message).toContain('--toolsets connectors');
    expect(r.data.error.fix).toContain('--toolsets connectors,imports');
    // Refused before its arguments are looked at: the answer is the same whatever they are.
    const status = await cp.call('import_status', {});
    expect(status.data.error).toMatchObject({ kind: 'unsupported' });
    expect(status.data.error.fix).toContain('imports or exports');
    // The enabled tools still work.
    expect((await cp.ok('list_connectors')).connectors).toEqual([]);
    await cp.close();
  });

  it('job tools come with imports or exports; CLOUDPORT_TOOLSETS works; read-only narrows further; search is known', async () => {
    const exportsOnly = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_TOOLSETS: 'exports' } });
    expect(await names(exportsOnly)).toEqual([...JOBS, 'start_export'].sort());
    expect((await exportsOnly.ok('list_imports')).imports).toEqual([]);
    await exportsOnly.close();

    const several = await startCloudport({ dataDir: tempDir(), args: ['--toolsets', ' indexes, automations ,search'] });
    expect(await names(several)).toEqual([...INDEXES, ...AUTOMATIONS, ...JOBS, 'search_index', 'reindex_index'].sort());
    await several.close();

    const ro = await startCloudport({ dataDir: tempDir(), args: ['--toolsets', 'connectors,imports', '--read-only'] });
    expect(await names(ro)).toEqual(['browse_connector', 'get_connector', 'import_logs', 'import_status', 'list_connectors', 'list_imports', 'test_connector']);
    expect((await ro.call('list_indexes')).data.error).toMatchObject({ kind: 'unsupported' });
    expect((await ro.call('cancel_import', { job_id: 'x' })).data.error).toMatchObject({ kind: 'permission_denied' });
    await ro.close();
  });

  it('an unknown toolset is a startup error that lists the valid ones', async () => {
    for (const run of [runCli(['--toolsets', 'connectors,conectors']), runCli([], { CLOUDPORT_TOOLSETS: 'bogus' })]) {
      const r = await run;
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/unknown toolset "(conectors|bogus)"/);
      for (const t of ['connectors', 'imports', 'indexes', 'exports', 'automations', 'search']) expect(r.stderr).toContain(t);
    }
    const help = await runCli(['--help']);
    expect(help.stdout).toContain('--toolsets');
    expect(help.stdout).toContain('CLOUDPORT_TOOLSETS');
  });

  it('applies over HTTP too', async () => {
    const dataDir = tempDir();
    const key = await createKey(dataDir, 'acme');
    const srv = await startHttpServer(dataDir, ['--toolsets', 'indexes']);
    try {
      const c = await connectHttp(srv.url, key);
      expect((await c.client.listTools()).tools.map((t) => t.name).sort()).toEqual(INDEXES);
      const r = await c.call('create_connector', { name: 'x', provider: 's3', bucket: 'abc', credentials: { type: 'default' } });
      expect(r.data.error).toMatchObject({ kind: 'unsupported' });
      expect((await c.ok('list_indexes')).indexes).toEqual([]);
      await c.close();
    } finally {
      await srv.stop();
    }
  });
});

describe('browse_connector takes limit like every list', () => {
  let env: S3Env;
  let cp: Running;
  let id: string;
  beforeAll(async () => {
    env = await startS3Env(['budget']);
    for (const k of ['a.txt', 'b.txt', 'c.txt']) await env.s3.put('budget', k, k);
    cp = await startCloudport({ dataDir: tempDir() });
    id = (await cp.ok('create_connector', env.connector('budget'))).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('limit pages; page_size is its deprecated name; both with different values is an error', async () => {
    const byLimit = await cp.ok('browse_connector', { connector_id: id, limit: 2 });
    expect(byLimit.objects).toHaveLength(2);
    expect(byLimit.next_cursor).toBeTruthy();
    expect((await cp.ok('browse_connector', { connector_id: id, page_size: 1 })).objects).toHaveLength(1);
    expect((await cp.ok('browse_connector', { connector_id: id, limit: 1, page_size: 1 })).objects).toHaveLength(1);
    expect((await cp.ok('browse_connector', { connector_id: id })).objects).toHaveLength(3);
    const both = await cp.call('browse_connector', { connector_id: id, limit: 2, page_size: 1 });
    expect(both.data.error).toMatchObject({ kind: 'config_invalid', field: 'page_size' });
    expect(both.data.error.fix).toContain('limit');
    expect((await cp.call('browse_connector', { connector_id: id, limit: 5000 })).data.error).toMatchObject({ kind: 'config_invalid', field: 'limit' });
  });
});
