import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, runCli, safeEnv, tempDir, until } from '../helpers/cloudport.js';

/**
 * README "Configuration": each variable's default holds when it is not set. An empty variable
 * (`CLOUDPORT_X=` in a unit file or a client config's "env") counts as unset everywhere else
 * (CLOUDPORT_TOOLSETS, the numbers, the booleans); so it does here:
 * - CLOUDPORT_DATA_DIR= keeps the default data dir (~/.cloudport) rather than putting the store, master.key
 *   and content into whatever directory the process was started from;
 * - CLOUDPORT_ALLOWED_HOSTS= keeps the default Host list (bound host + localhost forms) rather than
 *   starting a server that answers 403 to every request.
 */
describe('an empty environment variable is the same as an unset one', () => {
  it('CLOUDPORT_DATA_DIR= uses ~/.cloudport, not the working directory', async () => {
    const home = tempDir();
    const cwd = tempDir();
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [CLI], { cwd, env: safeEnv({ HOME: home, CLOUDPORT_DATA_DIR: '', CLOUDPORT_LOG_LEVEL: 'info' }) });
      let stderr = '';
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stderr }));
      p.stdin.end();
    });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(cwd), 'files written into the working directory').toEqual([]);
    expect(fs.existsSync(`${home}/.cloudport/cloudport.db`)).toBe(true);
  }, 30_000);

  it('CLOUDPORT_ALLOWED_HOSTS= accepts requests to the bound address like the default', async () => {
    const dataDir = tempDir();
    const created = await runCli(['keys', 'create', '--org', 'acme', '--data-dir', dataDir]);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim().split('\n').pop()!;
    const p = spawn(process.execPath, [CLI, '--http', '--port', '0', '--data-dir', dataDir], { env: safeEnv({ CLOUDPORT_ALLOWED_HOSTS: '', CLOUDPORT_LOG_LEVEL: 'info' }) });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    try {
      const url = await until('ready', async () => /"url":"([^"]+)"/.exec(stderr)?.[1]);
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'qa', version: '1' } } }),
      });
      expect(res.status).toBe(200);
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => p.on('close', r));
    }
  }, 30_000);
});
