/**
 * Files listed as failed get one job_logs row each, in the job's transaction: a key listed twice is one
 * file (job_files keeps its first row) and one log line.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { backends, cleanup, withStore } from '../helpers/search-store.js';

afterAll(cleanup);

describe.each(backends)('listed failures in the job log: $name', (b) => {
  it('one file, one log row', async () => {
    await withStore(b, async (s) => {
      const failed = { key: 'missing.txt', size: null, etag: null, version: null, status: 'failed' as const, error: 'not found' };
      await s.createJob({ id: 'imp_dup', org_id: 'org_a', kind: 'import', connector_id: 'conn_1', index_name: 'idx', params: '{}', status: 'queued', listing_state: null, listing_complete: 1, lease_owner: null, lease_expires: 0, error: null, created_at: new Date().toISOString() }, [failed, failed] as never);
      const files = await s.listJobFiles('imp_dup', { limit: 10 });
      const logs = (await s.listLogs('org_a', { jobId: 'imp_dup', limit: 10 })).filter((l) => l.key === 'missing.txt');
      expect({ files: files.length, logs: logs.length }).toEqual({ files: 1, logs: 1 });
    });
  });
});
