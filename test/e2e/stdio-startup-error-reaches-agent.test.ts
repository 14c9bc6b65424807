import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { CLI, safeEnv, tempDir } from '../helpers/cloudport.js';

/**
 * stdio answers the MCP handshake and tools/list while the core (store, master key) opens. When the core
 * then fails to open (here a malformed CLOUDPORT_MASTER_KEY in the client config's "env", the README's
 * way to pass settings), a tool call already waiting for it is answered with that startup error as an
 * error result (isError, text `config_invalid: … CLOUDPORT_MASTER_KEY … Fix: …`), so the agent can tell the
 * user what to change; it does not only see the connection close ("MCP error -32000: Connection closed")
 * with the reason left in a log file the user never opens.
 */
describe('a stdio server whose core fails to open', () => {
  it('answers the tool call waiting for it with the startup error', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, '--data-dir', tempDir()],
      env: safeEnv({ CLOUDPORT_MASTER_KEY: 'too-short' }),
      stderr: 'pipe',
    });
    const client = new Client({ name: 'qa', version: '1' });
    await client.connect(transport);
    let text = '';
    let isError = false;
    try {
      const r = await client.callTool({ name: 'list_connectors', arguments: {} });
      isError = !!r.isError;
      text = (r.content as { type: string; text: string }[]).map((c) => c.text).join('\n');
    } catch (e) {
      text = `threw: ${(e as Error).message}`;
    } finally {
      await client.close().catch(() => undefined);
    }
    expect(text).toContain('CLOUDPORT_MASTER_KEY');
    expect(isError).toBe(true);
    expect(text).toMatch(/^config_invalid: /);
  }, 30_000);
});
