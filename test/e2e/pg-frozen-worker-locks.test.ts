import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSchema } from '../helpers/pg.js';
import { sleep } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';
import { cluster, fill, pgPortsOf, waitStatus } from '../helpers/scale-cluster.js';

/**
 * README (Scale-out): a unit of work is leased, and "taken over by another process once the lease
 * lapses" (CLOUDPORT_LEASE_MS). That holds for a worker that is frozen rather than dead (a stopped
 * process, a paused VM, a network partition that leaves its TCP connection open): a worker frozen in the
 * middle of a store transaction (its landing batch, holding row locks and the index's dedupe lock) does
 * not hold the rest of the deployment beyond about a lease. Another worker goes on with the job, and
 * cancel_import from the front door answers, while the frozen one stays frozen.
 */
describe('a worker frozen inside a store transaction', () => {
  let env: S3Env;
  const { admin, procs, url } = pgSchema('qa_scale_frozen');
  let cl: ReturnType<typeof cluster>;
  beforeAll(async () => {
    env = await startS3Env(['frozen']);
    await fill(env, 'frozen', 300);
    cl = cluster(url(), procs); // CLOUDPORT_LEASE_MS=3000 for every process
  }, 120_000);
  afterAll(async () => env?.stop());

  it('does not stall the job for other workers nor cancel_import', async () => {
    const { srv, c } = await cl.frontDoor();
    const w1 = await cl.worker(['--workers', '8']);
    let w2: Awaited<ReturnType<typeof cl.worker>> | undefined;
    try {
      const conn = (await c.ok('create_connector', env.connector('frozen'))).connector.id;
      env.proxy.setDelays({ GetObject: 30 });
      const job = (await c.ok('start_import', { connector_id: conn, index: 'frozen' })).job_id as string;
      await waitStatus(c, job, (s) => s.counts.ready >= 10, '10 ready');
      // Freeze w1 at a moment it has a transaction open on the database.
      let inTx = false;
      for (let i = 0; i < 300 && !inTx; i++) {
        w1.proc.kill('SIGSTOP');
        const r = await admin.query('SELECT 1 FROM pg_stat_activity WHERE client_port = ANY($1::int[]) AND xact_start IS NOT NULL', [pgPortsOf(w1.proc.pid!)]);
        inTx = r.rows.length > 0;
        if (!inTx) {
          w1.proc.kill('SIGCONT');
          await sleep(37);
        }
      }
      expect(inTx).toBe(true);
      const frozenAt = (await c.ok('import_status', { job_id: job })).counts.ready as number;
      w2 = await cl.worker(['--workers', '8']);
      // Safety limits many leases long, not timing assertions.
      const moved = await waitStatus(c, job, (s) => s.counts.ready >= frozenAt + 50 || s.status !== 'running', 'the other worker to go on', 45_000).catch((e: Error) => e);
      expect(moved, 'the job goes on without the frozen worker').not.toBeInstanceOf(Error);
      const answer = await Promise.race([c.call('cancel_import', { job_id: job }), sleep(30_000).then(() => 'no answer within 30 s (10 leases)')]);
      expect(typeof answer === 'string' ? answer : answer.data.status).toBe('canceled');
    } finally {
      env.proxy.setDelays({});
      w1.proc.kill('SIGCONT');
      w1.proc.kill('SIGKILL');
      w2?.proc.kill('SIGKILL');
      await srv.stop('SIGKILL');
    }
  }, 180_000);
});
