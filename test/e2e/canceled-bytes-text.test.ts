import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitUntil } from '../helpers/cloudport.js';
import { bytes, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A job canceled mid-run (2 of 20 files stored, 18 canceled) does not read "…; 256 KiB of 256 KiB" in
 * import_status, as a finished transfer would: bytes count only files that are or will be stored, so a
 * finished job's text gives the bytes it moved "in all" and says its canceled files are not counted.
 */
const FILES = 20;
const SIZE = 128 * 1024;

describe('bytes in the text of a canceled job', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['cancelbytes']);
    for (let i = 0; i < FILES; i++) await env.s3.put('cancelbytes', `f/${String(i).padStart(3, '0')}.bin`, bytes(SIZE, 700 + i));
  });
  afterAll(async () => env?.stop());

  it('a job canceled with files left does not read "X of X" bytes', async () => {
    env.proxy.addFault({ match: { op: 'GetObject' }, times: 1000, action: { type: 'stall', afterBytes: SIZE / 2, ms: 300 } });
    const cp = await startCloudport({ dataDir: tempDir(), args: ['--workers', '2'], env: { CLOUDPORT_IDLE_TIMEOUT_MS: '200' } });
    try {
      const conn = (await cp.ok('create_connector', env.connector('cancelbytes'))).connector.id;
      const job = await cp.ok('start_import', { connector_id: conn, index: 'cb' });
      await waitUntil(cp, job.job_id, (s) => s.counts.ready >= 2, 'two ready');
      await cp.ok('cancel_import', { job_id: job.job_id });
      const s = await cp.call('import_status', { job_id: job.job_id });
      expect(s.data.status).toBe('canceled');
      expect(s.data.counts.canceled).toBeGreaterThan(0);
      const summary = s.text.split('\n')[0]!;
      const m = /; ([\d.]+ [KMGT]?i?B) of ([\d.]+ [KMGT]?i?B)/.exec(summary);
      expect(Boolean(m && m[1] === m[2]), summary).toBe(false);
      expect(summary).toMatch(new RegExp(`; ${s.data.counts.ready * 128} KiB in all \\(canceled and failed files not counted\\)`));
    } finally {
      env.proxy.clearFaults();
      await cp.close();
    }
  });
});
