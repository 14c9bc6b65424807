import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpServer } from '../helpers/http.js';

const rpc = (id: number | null, method: string, params?: unknown) => JSON.stringify({ jsonrpc: '2.0', ...(id === null ? {} : { id }), method, ...(params !== undefined ? { params } : {}) });

describe('a wrong call answers an error and the server goes on', () => {
  let cp: Running | undefined;
  let http: HttpServer | undefined;
  afterAll(async () => {
    await cp?.close();
    await http?.stop();
  });

  it('stdio: a misspelled tool is a readable tool error naming the closest tools, and the next call still answers', async () => {
    cp = await startCloudport({ dataDir: tempDir() });
    const r = await cp.call('list_conectors');
    expect(r.isError).toBe(true);
    expect(r.text).toContain('config_invalid: unknown tool "list_conectors"');
    expect(r.data.error).toMatchObject({ kind: 'config_invalid' });
    expect(r.data.error.fix).toContain('list_connectors');
    const again = await cp.call('delete_conector', { connector_id: 'x' });
    expect(again.data.error.fix).toContain('delete_connector');
    expect((await cp.ok('list_connectors')).connectors).toEqual([]);
    expect(cp.stderr()).not.toMatch(/unhandled/i);
  });

  it('stdio: protocol errors (bad params, unknown method) answer JSON-RPC errors and every later request is answered', async () => {
    const init = rpc(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } });
    const lines = [
      init,
      rpc(null, 'notifications/initialized'),
      rpc(2, 'tools/call', { name: 123 }),
      rpc(3, 'no/such_method', {}),
      rpc(4, 'tools/call', { name: 'list_conectors', arguments: {} }),
      rpc(5, 'tools/call', { name: 'list_connectors', arguments: {} }),
    ];
    const out = await runCli(['--data-dir', tempDir()], {}, lines.join('\n') + '\n');
    expect(out.code).toBe(0);
    const answers = new Map(out.stdout.trim().split('\n').map((l) => JSON.parse(l)).map((m) => [m.id, m]));
    expect(answers.get(2)?.error?.code).toBeTypeOf('number'); // the SDK's own code for a malformed request
    expect(answers.get(3)?.error?.code).toBe(-32601);
    expect(answers.get(4)?.result).toMatchObject({ isError: true });
    expect(answers.get(5)?.result?.structuredContent).toMatchObject({ connectors: [] });
  });

  it('HTTP: a misspelled tool is a readable tool error, and list_connectors still answers', async () => {
    const dataDir = tempDir();
    http = await startHttpServer(dataDir);
    const c = await connectHttp(http.url, await createKey(dataDir, 'acme'));
    const r = await c.call('list_conectors');
    expect(r.isError).toBe(true);
    expect(r.text).toContain('config_invalid: unknown tool "list_conectors"');
    expect(r.data.error.fix).toContain('list_connectors');
    expect((await c.ok('list_connectors')).connectors).toEqual([]);
    await c.close();
  });
});
