/**
 * Requests whose params do not fit the method's schema, sent as raw JSON-RPC over stdio (an SDK client
 * would not send them): each answers -32602 (Invalid params) naming the field, in one line where the
 * handler is ours, and the server goes on answering. A line that is no JSON answers -32700, JSON that is
 * no JSON-RPC message -32600 (id null, as JSON-RPC 2.0 says), and the server goes on answering too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, safeEnv, tempDir } from '../helpers/cloudport.js';

describe('malformed request params', () => {
  let proc: ChildProcess;
  const answers = new Map<number, (m: { result?: unknown; error?: { code: number; message: string } }) => void>();
  const unaddressed: { id: null; error: { code: number; message: string } }[] = [];
  let next = 1;
  const request = (method: string, params: unknown) =>
    new Promise<{ result?: unknown; error?: { code: number; message: string } }>((resolve) => {
      const id = next++;
      answers.set(id, resolve);
      proc.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });

  beforeAll(async () => {
    proc = spawn(process.execPath, [CLI, '--data-dir', tempDir()], { env: safeEnv(), stdio: ['pipe', 'pipe', 'ignore'] });
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const m = JSON.parse(buf.slice(0, i));
        buf = buf.slice(i + 1);
        if (typeof m.id === 'number') answers.get(m.id)?.(m);
        else if (m.id === null) unaddressed.push(m);
      }
    });
    await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
    proc.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  });
  afterAll(() => {
    proc?.kill();
  });

  it('answers -32602 naming the field, and keeps serving', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['resources/read', { uri: 5 }, /^invalid resources\/read request: params\.uri: Invalid input: expected string, received number$/],
      ['resources/list', { cursor: 7 }, /^invalid resources\/list request: params\.cursor: /],
      ['tools/list', { cursor: {} }, /^invalid tools\/list request: params\.cursor: /],
      ['completion/complete', {}, /^invalid completion\/complete request: params\.ref: /],
      // tools/call is checked by the SDK itself, with its own wording.
      ['tools/call', { name: 'list_connectors', arguments: 'str' }, /Invalid tools\/call request: .*params.*arguments/s],
    ];
    for (const [method, params, message] of cases) {
      const r = await request(method, params);
      expect({ method, code: r.error?.code }).toEqual({ method, code: -32602 });
      expect(r.error!.message).toMatch(message);
    }
    const ok = await request('tools/call', { name: 'list_connectors', arguments: {} });
    expect(ok.error).toBeUndefined();
  });

  it('answers a line that is no JSON, or no JSON-RPC message, with id null, and keeps serving', async () => {
    proc.stdin!.write('this is not json\n');
    proc.stdin!.write('{"hello": "world"}\n');
    const ok = await request('tools/call', { name: 'list_connectors', arguments: {} });
    expect(ok.error).toBeUndefined();
    expect(unaddressed.map((m) => m.error.code)).toEqual([-32700, -32600]);
    expect(unaddressed[0]!.error.message).toMatch(/^Parse error: /);
    expect(unaddressed[1]!.error.message).toMatch(/^Invalid Request: /);
  });
});
