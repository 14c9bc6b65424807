import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A new_only re-import keeps only the first 100 skipped files as rows and counts the rest in its listing
 * state. The job's end line in import_logs counts them as import_status does, so the log and the status
 * agree and the end line adds up to every file listed.
 */
describe('the end line of a new_only import with more than 100 unchanged files', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['skiplog']);
    const puts: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) puts.push(env.s3.put('skiplog', `s/${String(i).padStart(3, '0')}.txt`, `file ${i}`));
    await Promise.all(puts);
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_EXTRACT: 'off' } });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('says as many skipped files as import_status does', async () => {
    const conn = (await cp.ok('create_connector', env.connector('skiplog'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 's' })).job_id);
    for (let i = 0; i < 50; i++) await env.s3.put('skiplog', `s/${String(i).padStart(3, '0')}.txt`, `file ${i}, changed`);
    const job = await cp.ok('start_import', { connector_id: conn, index: 's', import_mode: 'new_only' });
    const s = await waitForJob(cp, job.job_id);
    expect(s.counts).toMatchObject({ ready: 50, skipped: 250, failed: 0, pending: 0 });
    const msgs = ((await cp.ok('import_logs', { job_id: job.job_id, limit: 100 })).entries as { message: string }[]).map((e) => e.message);
    const end = msgs.find((m) => m.startsWith('import completed'));
    expect(end).toBe('import completed: 50 ready, 0 deduped, 250 skipped, 0 failed');
  });
});
