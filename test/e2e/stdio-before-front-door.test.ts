import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSchema } from '../helpers/pg.js';
import { runCli, sleep, startCloudport, tempDir } from '../helpers/cloudport.js';
import { connectHttp, startHttpServer } from '../helpers/http.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * README (Security): "A stdio server refuses to run import work on a store that an HTTP front door
 * serves (its permissive policy would apply to tenants' jobs)". That holds whatever the order the
 * processes start in: a stdio server (default --workers) already running on a PostgreSQL store when an
 * HTTP front door starts there and records its tenant policy runs none of the tenants' import work from
 * then on. A tenant's job behind a `--workers 0` front door with no `cloudport worker` stays queued.
 */
describe('stdio server started before the HTTP front door on one PostgreSQL store', () => {
  let env: S3Env;
  const { procs, url } = pgSchema('stdio_before_front');
  const MASTER_KEY = randomBytes(32).toString('base64');
  const penv = { CLOUDPORT_MASTER_KEY: MASTER_KEY, CLOUDPORT_LEASE_MS: '3000' };
  const dataDir = tempDir();

  beforeAll(async () => {
    env = await startS3Env(['tenantbkt']);
    for (let i = 0; i < 20; i++) await env.s3.put('tenantbkt', `d/f${i}.txt`, `tenant document ${i}\n`);
  });
  afterAll(async () => env?.stop());

  it('runs none of the tenants\' import work once the front door has recorded its policy', async () => {
    const common = ['--database-url', url(), '--blob-store', `${dataDir}/blobs`];
    // The operator's own stdio server on the store (its default: it runs import work).
    const stdio = await startCloudport({ dataDir, args: common, env: { ...penv, CLOUDPORT_LOG_LEVEL: 'info' } });
    await stdio.ok('list_indexes', {});
    // Then the team's front door on the same store, keeping to requests.
    const srv = await startHttpServer(dataDir, ['--workers', '0', '--allow-private-endpoints', ...common], penv);
    procs.push(srv.proc);
    const k = await runCli(['keys', 'create', '--org', 'acme', '--data-dir', dataDir, '--database-url', url()], penv);
    expect(k.code, k.stderr).toBe(0);
    const c = await connectHttp(srv.url, k.stdout.trim().split('\n').pop()!);
    try {
      const conn = (await c.ok('create_connector', env.connector('tenantbkt'))).connector.id;
      const job = (await c.ok('start_import', { connector_id: conn, index: 'tenant' })).job_id as string;
      // No cloudport worker runs: nothing may take the tenant's job. (A safety window, not a timing assertion.)
      const seen: string[] = [];
      for (let i = 0; i < 40; i++) {
        seen.push((await c.ok('import_status', { job_id: job })).status);
        await sleep(150);
      }
      expect(new Set(seen)).toEqual(new Set(['queued']));
      expect(stdio.stderr()).not.toContain(`"job_id":"${job}"`);
    } finally {
      await c.close().catch(() => {});
      await stdio.close();
      await srv.stop();
    }
  }, 120_000);
});
