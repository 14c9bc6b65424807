import { spawnSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, safeEnv, tempDir, tempFiles, until } from '../helpers/cloudport.js';
import { bytes, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * In a container the server usually runs with the same pid every time (pid 1, or the pid after an init
 * such as tini). Temp names are `<pid>-<tag><n>.<host>.part` with a random tag per process: a restarted
 * server with its predecessor's pid tells the killed process's partial downloads from its own by the tag
 * and removes them at start.
 *
 * The server runs in a PID namespace of its own (`unshare --pid --fork`), so it is pid 1 at every start,
 * as in a container; SIGKILL of unshare (--kill-child) kills it.
 */
const canUnshare = spawnSync('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', 'true']).status === 0;

async function startInNamespace(dataDir: string, env: Record<string, string>) {
  const transport = new StdioClientTransport({
    command: 'unshare',
    args: ['--pid', '--fork', '--kill-child', '--mount-proc', process.execPath, CLI, '--data-dir', dataDir, '--workers', '2'],
    env: safeEnv(env),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'cloudport-test', version: '1.0.0' });
  await client.connect(transport);
  const ok = async (name: string, args: Record<string, unknown> = {}) => {
    const r = await client.callTool({ name, arguments: args });
    if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
    return r.structuredContent as Record<string, any>;
  };
  return { client, ok, pid: transport.pid! };
}

describe.skipIf(!canUnshare)('a server restarted with the pid of the one that was killed (a container)', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['samepid']);
    for (let i = 0; i < 2; i++) await env.s3.put('samepid', `big/${i}.bin`, bytes(8 * 1024 * 1024, 300 + i));
  });
  afterAll(async () => env?.stop());

  it('removes the killed process\'s temp files at start', async () => {
    const dataDir = tempDir();
    const e = { CLOUDPORT_LEASE_MS: '1500', CLOUDPORT_EXTRACT: 'off', CLOUDPORT_IDLE_TIMEOUT_MS: '60000' };
    const first = await startInNamespace(dataDir, e);
    const conn = (await first.ok('create_connector', env.connector('samepid'))).connector.id;
    // Both downloads stall half-way: their partial temp files are on disk when the process is killed.
    env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'big/' }, times: 2, action: { type: 'stall', afterBytes: 4 * 1024 * 1024, ms: 60_000 } });
    await first.ok('start_import', { connector_id: conn, index: 'samepid' });
    const left = await until('partial downloads on disk', async () => (tempFiles(dataDir).length >= 2 ? tempFiles(dataDir) : null));
    process.kill(first.pid, 'SIGKILL');
    await first.client.close().catch(() => {});
    env.proxy.clearFaults();
    expect(left.every((f) => /\/1-[0-9a-f]+\.[0-9a-f]{8}\.part$/.test(f)), `temp files of a pid-1 process: ${left}`).toBe(true);
    // Tool calls wait for the store and blob store to open, and the start-up sweep runs as they open.
    const second = await startInNamespace(dataDir, e);
    try {
      await second.ok('list_connectors');
      const still = tempFiles(dataDir).filter((f) => left.includes(f));
      expect(still, 'the killed process\'s partial downloads, kept by its successor with the same pid').toEqual([]);
    } finally {
      await second.client.close();
    }
  });
});
