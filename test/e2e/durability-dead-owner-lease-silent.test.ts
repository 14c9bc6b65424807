import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startCloudport, tempDir, waitUntil } from '../helpers/cloudport.js';
import { bytes, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A server killed with SIGKILL and started again on the same data dir (same host) either takes its
 * dead predecessor's files over at once (their lease owner names this host and a pid that is gone), or
 * import_status says why the job does not move: its files are held by a process that stopped, until
 * their lease runs out (and when). An agent long-polling import_status after a restart is never left
 * with "running, 0 ready, N pending" and no reason while nothing happens.
 */
let env: S3Env;

describe('restart after SIGKILL while the dead process still holds leases', () => {
  beforeAll(async () => {
    env = await startS3Env(['dead-owner']);
    for (let i = 0; i < 8; i++) await env.s3.put('dead-owner', `a/${i}.bin`, bytes(200_000, i));
  });
  afterAll(async () => env?.stop());

  it('goes on, or says the files wait for a stopped process\'s lease', async () => {
    const dataDir = tempDir();
    // A long lease, as a deployment may set; every GET stalls so the kill lands with all files leased.
    const lease = { CLOUDPORT_LEASE_MS: '120000' };
    env.proxy.addFault({ match: { op: 'GetObject' }, times: 1000, action: { type: 'stall', afterBytes: 100_000, ms: 10_000 } });
    let cp = await startCloudport({ dataDir, args: ['--workers', '8'], env: lease });
    try {
      const c = (await cp.ok('create_connector', env.connector('dead-owner'))).connector.id;
      const job = await cp.ok('start_import', { connector_id: c, index: 'd' });
      await waitUntil(cp, job.job_id, (s) => s.status === 'running', 'running');
      await sleep(1000);
      process.kill(cp.pid!, 'SIGKILL');
      await cp.close().catch(() => {});
      env.proxy.clearFaults();

      cp = await startCloudport({ dataDir, args: ['--workers', '8'], env: lease });
      const r = await cp.call('import_status', { job_id: job.job_id, wait_seconds: 20 });
      const pending = await cp.call('import_status', { job_id: job.job_id, files_status: 'pending', limit: 100 });
      const moved = r.data.counts.ready > 0 || r.data.status !== 'running';
      const explained = /lease|stopped|crash|taken over/i.test(`${r.text}\n${pending.text}`);
      expect(moved || explained, `no progress and no reason after a restart:\n${r.text}\n${pending.text}`).toBe(true);
    } finally {
      await cp.close().catch(() => {});
    }
  });
});
