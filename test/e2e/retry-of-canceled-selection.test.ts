import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * start_import {retry_of} of a canceled job (or a job whose listing failed) has no failed files and
 * answers conflict. No result shows the job's selection (import_status, list_imports and import_logs
 * give its connector_id and index, never its prefix, pattern or filters), so the fix spells out the
 * call that imports what the index still lacks of it: the job's connector_id, index, prefix and
 * pattern with import_mode "new_only".
 */
describe('retry_of a canceled job names the selection to import again', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['retrysel']);
    for (let i = 0; i < 6; i++) await env.s3.put('retrysel', `reports/2026/r${i}.txt`, `report ${i}`);
    await env.s3.put('retrysel', 'other/x.txt', 'other');
  });
  afterAll(async () => env?.stop());

  it('the conflict fix carries connector_id, index, prefix and pattern', async () => {
    // --workers 0: the job stays queued until it is canceled.
    const cp = await startCloudport({ dataDir: tempDir(), args: ['--workers', '0'] });
    try {
      const conn = (await cp.ok('create_connector', env.connector('retrysel'))).connector.id;
      const job = await cp.ok('start_import', { connector_id: conn, index: 'rs', prefix: 'reports/', pattern: '**/r[0-4].txt' });
      await cp.ok('cancel_import', { job_id: job.job_id });
      const r = await cp.call('start_import', { retry_of: job.job_id });
      expect(r.isError).toBe(true);
      expect(r.data.error.kind).toBe('conflict');
      const fix: string = r.data.error.fix;
      expect(fix).toContain('new_only');
      expect(fix).toContain(conn);
      expect(fix).toContain('rs');
      expect(fix).toContain('reports/');
      expect(fix).toContain('**/r[0-4].txt');
    } finally {
      await cp.close();
    }
  });
});
