import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, safeEnv, sleep } from '../helpers/cloudport.js';
import { bytes, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * When the data dir's permissions change under a running server so that downloads can no longer be
 * written (its temp directories made read-only: EACCES), each failed file's error says what happened
 * once ("cannot write the download to the data dir (…): EACCES: permission denied, open …"), not
 * with the code doubled ("EACCES: EACCES: permission denied"), and the server goes on serving calls.
 * Root ignores file modes, so under root the server runs as user nobody (setpriv).
 */
let env: S3Env;
const asRoot = process.getuid?.() === 0;

async function start(dataDir: string) {
  const cmd = [process.execPath, CLI, '--data-dir', dataDir, '--workers', '2'];
  const transport = new StdioClientTransport({
    command: asRoot ? 'setpriv' : cmd[0]!,
    args: asRoot ? ['--reuid=65534', '--regid=65534', '--clear-groups', ...cmd] : cmd.slice(1),
    env: safeEnv({ HOME: dataDir }),
    stderr: 'pipe',
  });
  const client = new Client({ name: 't', version: '1' });
  await client.connect(transport);
  const call = async (name: string, a: Record<string, unknown> = {}) => {
    const r = await client.callTool({ name, arguments: a });
    const text = (r.content as { text: string }[]).map((c) => c.text).join('\n');
    if (r.isError) throw new Error(`${name}: ${text}`);
    return (r.structuredContent ?? {}) as Record<string, any>;
  };
  return { client, call };
}

describe('a download that cannot be written because the data dir became read-only', () => {
  let dataDir: string;
  beforeAll(async () => {
    env = await startS3Env(['temp-error']);
    for (let i = 0; i < 12; i++) await env.s3.put('temp-error', `f/${String(i).padStart(2, '0')}.bin`, bytes(50_000, i));
    // A data dir user nobody can reach (the run's temp root is root's, mode 0700).
    dataDir = fs.mkdtempSync('/tmp/cloudport-qa-perm-');
    fs.chmodSync(dataDir, 0o755);
    if (asRoot) fs.chownSync(dataDir, 65534, 65534);
  });
  afterAll(async () => {
    await env?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('fails the files with the system error said once', async () => {
    const cp = await start(dataDir);
    try {
      const c = (await cp.call('create_connector', env.connector('temp-error'))).connector.id;
      const incoming = path.join(dataDir, 'incoming');
      for (const d of fs.readdirSync(incoming)) fs.chmodSync(path.join(incoming, d), 0o500);
      fs.chmodSync(incoming, 0o500);
      const job = await cp.call('start_import', { connector_id: c, index: 'i' });
      let s: Record<string, any> = {};
      for (let i = 0; i < 300; i++) {
        s = await cp.call('import_status', { job_id: job.job_id });
        if (!['queued', 'running'].includes(s.status)) break;
        await sleep(100);
      }
      expect(s.counts.failed).toBeGreaterThan(0);
      const failed = (await cp.call('import_status', { job_id: job.job_id, files_status: 'failed', limit: 100 })).files as { error: string }[];
      const errors = failed.map((f) => f.error);
      expect(errors[0]).toMatch(/EACCES/);
      expect(errors.filter((e) => /\b(E[A-Z]+): \1:/.test(e))).toEqual([]);
      // The server still answers.
      await cp.call('list_indexes', {});
    } finally {
      await cp.client.close();
    }
  });
});
