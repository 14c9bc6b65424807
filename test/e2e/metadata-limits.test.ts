import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCloudport, tempDir, type Running } from '../helpers/cloudport.js';

const connector = (metadata: unknown, name = `m-${Math.random().toString(36).slice(2, 10)}`) => ({
  name,
  provider: 's3',
  bucket: 'bkt',
  endpoint: 'http://127.0.0.1:9',
  validate: false,
  credentials: { type: 'access_key', access_key_id: 'AKIAEXAMPLE', secret_access_key: 'not-a-secret' },
  metadata,
});

/** `levels` nested objects, the outermost being metadata itself: {a: {a: … {leaf: 1}}}. */
function nested(levels: number, asArrays = false): Record<string, unknown> {
  let v: unknown = asArrays ? [1] : { leaf: 1 };
  for (let i = 1; i < levels; i++) v = asArrays ? [v] : { a: v };
  return asArrays ? { a: v } : (v as Record<string, unknown>);
}

describe('create_connector / update_connector metadata limits (stdio)', () => {
  let cp: Running;
  beforeAll(async () => {
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => cp?.close());

  it('metadata nested 20,000 levels is config_invalid on metadata with a fix, and the server goes on', async () => {
    // Written by hand: JSON.stringify itself overflows the stack at this depth, so no SDK client can send it.
    const deep = (open: string, close: string) => open.repeat(20_000) + '1' + close.repeat(20_000);
    const call = (id: number, name: string, args: string) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":${args}}}`;
    const base = JSON.stringify(connector(undefined)).slice(0, -1); // metadata: undefined is left out
    const lines = [
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
      JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      call(2, 'create_connector', `${base},"metadata":${deep('{"a":', '}')}}`),
      call(3, 'create_connector', `${base},"metadata":{"a":${deep('[', ']')}}}`),
      call(4, 'update_connector', `{"connector_id":"conn_none","metadata":${deep('{"a":', '}')}}`),
      call(5, 'list_connectors', '{}'),
    ];
    const r = await runCli(['--data-dir', tempDir()], {}, lines.join('\n') + '\n');
    expect(r.code, r.stderr).toBe(0);
    const answers = new Map(r.stdout.trim().split('\n').map((l) => JSON.parse(l)).map((m) => [m.id, m.result]));
    for (const id of [2, 3, 4]) {
      const res = answers.get(id);
      expect(res?.isError, JSON.stringify(res)).toBe(true);
      expect(res.structuredContent.error, JSON.stringify(res)).toMatchObject({ kind: 'config_invalid', field: 'metadata' });
      expect(res.structuredContent.error.fix).toMatch(/\S/);
      expect(JSON.stringify(res)).not.toMatch(/call stack/i);
    }
    expect(answers.get(5)?.structuredContent).toMatchObject({ connectors: [] });
  });

  it('takes 10 levels and refuses 11, on create and update', async () => {
    const { connector: c } = await cp.ok('create_connector', connector(nested(10), 'ten-levels'));
    expect(c.metadata).toEqual(nested(10));
    const eleven = await cp.call('create_connector', connector(nested(11)));
    expect(eleven.data.error).toMatchObject({ kind: 'config_invalid', field: 'metadata' });
    expect(eleven.text).toMatch(/10 levels/);
    const upd = await cp.call('update_connector', { connector_id: c.id, metadata: nested(11) });
    expect(upd.data.error).toMatchObject({ kind: 'config_invalid', field: 'metadata' });
    expect((await cp.ok('get_connector', { connector_id: c.id })).connector.metadata).toEqual(nested(10));
  });

  it('keeps refusing metadata larger than 8 KiB of JSON', async () => {
    const r = await cp.call('create_connector', connector({ blob: 'x'.repeat(9000) }));
    expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: 'metadata' });
  });
});
