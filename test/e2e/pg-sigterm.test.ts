import { randomBytes } from 'node:crypto';
import { pgSchema } from '../helpers/pg.js';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { runCli, sleep, tempDir } from '../helpers/cloudport.js';
import { connectHttp, startHttpServer, type HttpClient } from '../helpers/http.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * README: "SIGTERM stops taking requests, hands leased import work back, and exits 0". A front door with
 * an MCP client connected (the SDK client keeps its GET/SSE stream open, and an agent may sit in an
 * import_status long poll) answers the long poll, closes the sessions and hands its leases back before
 * it exits: a client's open stream does not hold the shutdown up until the forced exit.
 */
const MASTER_KEY = randomBytes(32).toString('base64');

describe('front door SIGTERM with connected clients', () => {
  let env: S3Env;
  const { schema, admin, url: urlOf } = pgSchema('cp_sigterm');
  const url = urlOf();
  const penv = { CLOUDPORT_MASTER_KEY: MASTER_KEY, CLOUDPORT_LEASE_MS: '60000' };

  beforeAll(async () => {
    env = await startS3Env(['slow']);
    for (let i = 0; i < 200; i++) await env.s3.put('slow', `d/f${i}.txt`, `file ${i}\n`);
  });
  afterAll(async () => {
    await env?.stop();
  });

  // One data dir for every server of the schema: their content (blobs) lives there.
  const dataDir = tempDir();
  async function started(index: string) {
    const k = await runCli(['keys', 'create', '--org', 'acme', '--data-dir', dataDir, '--database-url', url], penv);
    expect(k.code, k.stderr).toBe(0);
    const key = k.stdout.trim().split('\n').pop()!;
    const srv = await startHttpServer(dataDir, ['--database-url', url, '--workers', '2', '--allow-private-endpoints'], penv);
    onTestFinished(() => void srv.stop('SIGKILL'));
    const c: HttpClient = await connectHttp(srv.url, key);
    const connector = (await c.ok('create_connector', env.connector('slow'))).connector.id;
    env.proxy.setDelays({ GetObject: 100 });
    onTestFinished(() => env.proxy.setDelays({}));
    const job = (await c.ok('start_import', { connector_id: connector, index, prefix: 'd/' })).job_id as string;
    for (let i = 0; i < 600; i++) {
      const s = await c.ok('import_status', { job_id: job });
      if (s.counts.ready >= 2) break;
      await sleep(50);
    }
    return { srv, c, job };
  }

  it('hands its leases back on SIGTERM while an MCP client is connected', async () => {
    const { srv, job } = await started('sigterm-leases');
    expect(await srv.stop('SIGTERM')).toBe(0);
    const held = await admin.query(`SELECT COUNT(*)::int AS n FROM ${schema}.job_files WHERE job_id = $1 AND lease_owner IS NOT NULL`, [job]);
    expect(held.rows[0].n).toBe(0);
  });

  it('answers an open import_status long poll before it exits on SIGTERM', async () => {
    const { srv, c, job } = await started('sigterm-poll');
    const poll = c.call('import_status', { job_id: job, wait_seconds: 30 });
    await sleep(200); // the poll is in flight (a final status would answer at once; this job runs for seconds)
    const exited = new Promise<string>((r) => srv.proc.once('exit', () => r('exited first')));
    srv.proc.kill('SIGTERM');
    const first = await Promise.race([poll.then(() => 'answered', () => 'failed'), exited]);
    expect(first).toBe('answered');
  });
});
