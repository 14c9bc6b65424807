// Starts the built server next to this file (dist/cli.js) over stdio with the MCP SDK client and lists its
// tools. .ci/run copies it into a production-only install, so it proves the server starts (SQLite store
// included) with the dependencies a user gets and without any dev dependency.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-smoke-'));
const client = new Client({ name: 'smoke-installed', version: '1' });
try {
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [path.join(import.meta.dirname, 'dist', 'cli.js'), '--data-dir', dataDir] }));
  const { tools } = await client.listTools();
  if (!tools.some((t) => t.name === 'start_import')) throw new Error(`tools/list has no start_import: ${tools.map((t) => t.name).join(', ')}`);
  const r = await client.callTool({ name: 'list_connectors', arguments: {} });
  if (r.isError) throw new Error(`list_connectors failed: ${JSON.stringify(r.content)}`);
  console.log(`production install: ${tools.length} tools, list_connectors answers`);
} finally {
  await client.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
