import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { CLI, safeEnv, tempDir } from '../helpers/cloudport.js';

/** The README's setup snippets are tried as written: each starts the built server and lists its tools. */
const ROOT = path.resolve(import.meta.dirname, '../..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const PLACEHOLDER = '/path/to/cloudport/dist/cli.js';

function jsonBlockAfter(marker: string): any {
  const at = README.indexOf(marker);
  expect(at, marker).toBeGreaterThan(-1);
  const m = /```json\n([\s\S]*?)\n```/.exec(README.slice(at));
  return JSON.parse(m![1]!.replace(/…/g, 'placeholder-secret'));
}

async function listToolsWith(command: string, args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const transport = new StdioClientTransport({
    command: command === 'node' ? process.execPath : command,
    args: args.map((a) => (a === PLACEHOLDER ? CLI : a)),
    env: safeEnv({ ...env, CLOUDPORT_DATA_DIR: tempDir() }),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'readme-test', version: '1' });
  await client.connect(transport);
  const { tools } = await client.listTools();
  await client.close();
  return tools.map((t) => t.name);
}

function inspector(args: string[]): Promise<{ code: number | null; stdout: string }> {
  // inspector-cli 1.0.3 reads its own package.json relative to the working directory: run it from dist/.
  const bin = path.join(ROOT, 'node_modules', '.bin', 'mcp-inspector-cli');
  return new Promise((resolve) => {
    const p = spawn(bin, ['--cli', process.execPath, CLI, '--data-dir', tempDir(), ...args], { cwd: path.join(ROOT, 'dist'), env: safeEnv() });
    let stdout = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.on('close', (code) => resolve({ code, stdout }));
  });
}

describe('README', () => {
  it('quick start is exactly the two commands', () => {
    const quick = /## Quick start\n\n```sh\n([\s\S]*?)\n```/.exec(README)?.[1];
    expect(quick).toBe('npm install && npm run demo\nnpm test');
  });

  it('Claude Desktop snippet starts the server', async () => {
    const cfg = jsonBlockAfter('**Claude Desktop**').mcpServers.cloudport;
    expect(await listToolsWith(cfg.command, cfg.args, cfg.env)).toContain('start_import');
  });

  it('VS Code snippet starts the server', async () => {
    const cfg = jsonBlockAfter('**VS Code**').servers.cloudport;
    expect(cfg.type).toBe('stdio');
    const env = Object.fromEntries(Object.entries(cfg.env as Record<string, string>).map(([k, v]) => [k, v.replace(/\$\{input:[^}]+\}/, 'from-input')]));
    expect(await listToolsWith(cfg.command, cfg.args, env)).toContain('start_import');
  });

  it('Claude Code command starts the server', async () => {
    const line = /^claude mcp add .*$/m.exec(README)![0];
    const [, after] = line.split(' -- ');
    const [command, ...args] = after!.trim().split(/\s+/);
    const env = Object.fromEntries([...line.matchAll(/--env (\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    expect(await listToolsWith(command!, args, env)).toContain('start_import');
  });

  it('the npx snippets run this package by its name, whose bin has that name', () => {
    // npx -y NAME runs the bin called NAME; test/unit/package.test.ts runs that bin from the packed tarball.
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; bin: Record<string, string> };
    const cfg = jsonBlockAfter('**From npm**').mcpServers.cloudport;
    expect([cfg.command, ...cfg.args]).toEqual(['npx', '-y', pkg.name]);
    expect(Object.keys(pkg.bin)).toEqual([pkg.name]);
    const claude = /`claude mcp add cloudport [^`]* -- (npx [^`]+)`/.exec(README)?.[1];
    expect(claude).toBe(`npx -y ${pkg.name}`);
  });

  it('MCP Inspector CLI lists and calls tools', async () => {
    const list = await inspector(['--method', 'tools/list']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).tools.map((t: { name: string }) => t.name)).toContain('browse_connector');
    const call = await inspector(['--method', 'tools/call', '--tool-name', 'list_connectors']);
    expect(call.code).toBe(0);
    expect(JSON.parse(call.stdout).structuredContent).toEqual({ connectors: [], next_cursor: null });
  });
});
