import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitUntil } from '../helpers/cloudport.js';
import { bytes, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * SIGTERM of the stdio server hands leased import work back at once and exits 0 (README, Scale-out
 * deployment), also while an agent's `import_status {wait_seconds: 30}` is pending: the long poll
 * answers with the job's status, the calls in flight end, and once the process has exited no file of
 * the job is still leased (the next server does not wait out CLOUDPORT_LEASE_MS for them). The same
 * holds when the client ends the session the usual way (the MCP SDK's StdioClientTransport.close():
 * stdin closed, SIGTERM after 2 s, SIGKILL after 4 s): the shutdown that input's end began waits for
 * the long poll until the SIGTERM makes it answer.
 */
const SIZE = 256 * 1024;

describe('stdio SIGTERM while an import_status long poll waits', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['sigtermlp']);
    for (let i = 0; i < 4; i++) await env.s3.put('sigtermlp', `f/${i}.bin`, bytes(SIZE, 800 + i));
  });
  afterAll(async () => env?.stop());

  it('answers the long poll and hands the leases back', async () => {
    const dataDir = tempDir();
    // Every body stalls half-way for a long time: the files stay leased by this process.
    env.proxy.addFault({ match: { op: 'GetObject' }, times: 1000, action: { type: 'stall', afterBytes: SIZE / 2, ms: 60_000 } });
    const cp = await startCloudport({ dataDir, args: ['--workers', '2'] });
    try {
      const conn = (await cp.ok('create_connector', env.connector('sigtermlp'))).connector.id;
      const job = await cp.ok('start_import', { connector_id: conn, index: 'lp' });
      await waitUntil(cp, job.job_id, (s) => s.status === 'running', 'running');
      const exited = new Promise<void>((resolve) => {
        const t = (cp.client.transport as unknown as { _process?: import('node:child_process').ChildProcess })._process;
        if (!t || t.exitCode !== null) resolve();
        else t.once('exit', () => resolve());
      });
      const poll = cp.call('import_status', { job_id: job.job_id, wait_seconds: 30 }).then(
        (r) => ({ answered: true, text: r.text }),
        (e: Error) => ({ answered: false, text: e.message }),
      );
      await new Promise((r) => setTimeout(r, 300));
      process.kill(cp.pid!, 'SIGTERM');
      const r = await poll;
      await exited;
      expect(r.answered, r.text).toBe(true);
      expect(r.text).toContain(job.job_id);
      const db = new Database(path.join(dataDir, 'cloudport.db'), { readonly: true });
      const leased = db.prepare('SELECT key, lease_owner FROM job_files WHERE job_id = ? AND lease_owner IS NOT NULL').all(job.job_id);
      db.close();
      expect(leased).toEqual([]);
    } finally {
      env.proxy.clearFaults();
      await cp.close().catch(() => {});
    }
  }, 60_000);

  it('a client that closes its session during a long poll leaves no file leased', async () => {
    const dataDir = tempDir();
    env.proxy.addFault({ match: { op: 'GetObject' }, times: 1000, action: { type: 'stall', afterBytes: SIZE / 2, ms: 60_000 } });
    const cp = await startCloudport({ dataDir, args: ['--workers', '2'] });
    try {
      const conn = (await cp.ok('create_connector', env.connector('sigtermlp'))).connector.id;
      const job = await cp.ok('start_import', { connector_id: conn, index: 'lp2' });
      await waitUntil(cp, job.job_id, (s) => s.status === 'running', 'running');
      const poll = cp.call('import_status', { job_id: job.job_id, wait_seconds: 30 }).catch(() => null);
      await new Promise((r) => setTimeout(r, 300));
      await cp.close(); // resolves once the process has exited (or was killed)
      await poll;
      const db = new Database(path.join(dataDir, 'cloudport.db'), { readonly: true });
      const leased = db.prepare('SELECT key, lease_owner FROM job_files WHERE job_id = ? AND lease_owner IS NOT NULL').all(job.job_id);
      db.close();
      expect(leased).toEqual([]);
    } finally {
      env.proxy.clearFaults();
    }
  }, 60_000);
});
