import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCloudport, tempDir } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

describe('server modes and startup', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['modes']);
    await env.s3.put('modes', 'a.txt', 'a');
  });
  afterAll(async () => env?.stop());

  it('--read-only lists only read-only tools, refuses others at run time, and skips the write probe', async () => {
    const dataDir = tempDir();
    const rw = await startCloudport({ dataDir });
    const { connector } = await rw.ok('create_connector', { ...env.connector('modes'), scopes: ['import', 'export'] });
    const job = await rw.ok('start_import', { connector_id: connector.id, index: 'ro' });
    await rw.close();

    const ro = await startCloudport({ dataDir, args: ['--read-only'] });
    const names = (await ro.client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(['browse_connector', 'get_connector', 'import_logs', 'import_status', 'list_automations', 'list_connectors', 'list_imports', 'list_index_items', 'list_indexes', 'read_item', 'search_index', 'test_connector']);
    for (const tool of ['create_connector', 'start_import', 'start_export', 'delete_connector', 'cancel_import', 'update_connector', 'delete_index', 'delete_item', 'create_automation', 'update_automation', 'delete_automation', 'run_automation_now']) {
      const r = await ro.call(tool, { connector_id: connector.id, job_id: job.job_id, index: 'x' });
      expect(r.isError, tool).toBe(true);
      expect(r.data.error.kind, tool).toBe('permission_denied');
      expect(r.text, tool).toContain('--read-only');
    }
    const t = await ro.ok('test_connector', { connector_id: connector.id });
    expect(t.success).toBe(true);
    expect(t.checks.find((c: { name: string }) => c.name === 'write')).toMatchObject({ status: 'skipped', ok: false });
    expect((await ro.ok('get_connector', { connector_id: connector.id })).connector.id).toBe(connector.id);
    await ro.close();
  });

  it('a wrong master key on a store without connectors says the key was recorded at the first start, not that credentials exist', async () => {
    const dataDir = tempDir();
    const cp = await startCloudport({ dataDir, env: { CLOUDPORT_MASTER_KEY: randomBytes(32).toString('base64') } });
    await cp.ok('list_connectors', {});
    await cp.close();
    const wrong = await runCli(['--data-dir', dataDir], { CLOUDPORT_MASTER_KEY: randomBytes(32).toString('base64') });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/master key does not match the key .* recorded at its first start \(it holds no credentials yet/);
    expect(wrong.stderr).not.toContain('encrypted the credentials');
  });

  it('a wrong or missing master key is a clear startup error and changes nothing', async () => {
    const dataDir = tempDir();
    const key = randomBytes(32).toString('base64');
    const cp = await startCloudport({ dataDir, env: { CLOUDPORT_MASTER_KEY: key } });
    await cp.ok('create_connector', env.connector('modes'));
    await cp.close();
    expect(fs.existsSync(path.join(dataDir, 'master.key'))).toBe(false);
    const dbBefore = fs.readFileSync(path.join(dataDir, 'cloudport.db'));

    const wrong = await runCli(['--data-dir', dataDir], { CLOUDPORT_MASTER_KEY: randomBytes(32).toString('base64') });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toMatch(/master key does not match/);
    expect(wrong.stderr).toContain('CLOUDPORT_MASTER_KEY');

    const missing = await runCli(['--data-dir', dataDir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no master key/);
    expect(fs.existsSync(path.join(dataDir, 'master.key'))).toBe(false);

    const short = await runCli(['--data-dir', dataDir], { CLOUDPORT_MASTER_KEY: 'c2hvcnQ=' });
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/32 random bytes/);
    expect(fs.readFileSync(path.join(dataDir, 'cloudport.db')).equals(dbBefore)).toBe(true);

    const right = await startCloudport({ dataDir, env: { CLOUDPORT_MASTER_KEY: key } });
    const list = await right.ok('list_connectors');
    expect(list.connectors).toHaveLength(1);
    expect((await right.ok('test_connector', { connector_id: list.connectors[0].id })).success).toBe(true);
    await right.close();
  });

  it('--help and bad flags answer on the command line; stdout carries nothing but JSON-RPC', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--data-dir');
    expect(help.stdout).toContain('CLOUDPORT_MASTER_KEY');
    const bad = await runCli(['--no-such-flag']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no-such-flag/);
    const dataDir = tempDir();
    const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const call = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_connectors', arguments: {} } });
    const r = await runCli(['--data-dir', dataDir, '--log-level', 'debug'], {}, [init, list, call].join('\n') + '\n');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(JSON.parse(l).jsonrpc).toBe('2.0');
    for (const l of r.stderr.trim().split('\n')) expect(() => JSON.parse(l)).not.toThrow();
  });
});
