import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSchema } from '../helpers/pg.js';
import { startCloudport, tempDir } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A job on a server that runs no job work (--workers 0) waits for a `cloudport worker` on its store;
 * when none runs it stays "queued" forever. The agent reads only the text: start_import and
 * import_status say that this server runs no job work and what to do (start a worker, or a server
 * without --workers 0), import_status as the job's `warning`.
 */
describe('a job that no process runs says why it stays queued', () => {
  const pgs = pgSchema('qa_noworker');
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['noworker']);
    for (let i = 0; i < 4; i++) await env.s3.put('noworker', `f/${i}.txt`, `file ${i} `.repeat(50));
  });
  afterAll(async () => env?.stop());

  it('import_status of a queued job on a store with no import worker carries a warning naming the missing worker', async () => {
    const cp = await startCloudport({ dataDir: tempDir(), args: ['--workers', '0'] });
    try {
      const conn = (await cp.ok('create_connector', env.connector('noworker'))).connector.id;
      const started = await cp.call('start_import', { connector_id: conn, index: 'idle' });
      expect(started.isError).toBe(false);
      expect(started.text).toMatch(/--workers 0\): a cloudport worker on the same store takes the job/);
      // The long poll honours its timeout (nothing will happen), then the agent reads the status.
      const s = await cp.call('import_status', { job_id: started.data.job_id, wait_seconds: 2 });
      expect(s.data.status).toBe('queued');
      expect(s.data.warning, s.text).toMatch(/worker/i);
      expect(s.text.split('\n')[0]).toMatch(/worker/i);
    } finally {
      await cp.close();
    }
  });

  it('the same on a PostgreSQL store: a front door with --workers 0 and no cloudport worker', async () => {
    const cp = await startCloudport({ dataDir: tempDir(), args: ['--workers', '0', '--database-url', pgs.url()], env: { CLOUDPORT_MASTER_KEY: randomBytes(32).toString('base64') } });
    try {
      const conn = (await cp.ok('create_connector', env.connector('noworker'))).connector.id;
      const started = await cp.call('start_import', { connector_id: conn, index: 'idle' });
      expect(started.isError).toBe(false);
      const s = await cp.call('import_status', { job_id: started.data.job_id, wait_seconds: 2 });
      expect(s.data.status).toBe('queued');
      expect(s.data.warning, s.text).toMatch(/worker/i);
    } finally {
      await cp.close();
    }
  });
});
