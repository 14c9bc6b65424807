import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * start_import {retry_of} naming a reindex job answers config_invalid with the reindex_index call to
 * run instead. For a canceled `reindex_index {all: true}` job that call keeps `all: true`: without it,
 * every item already has a text, reindex_index answers "nothing to extract", and the items the
 * canceled job never reached are not extracted again.
 */
describe('retry_of a canceled reindex_index {all: true}', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['rdxall']);
    for (let i = 0; i < 5; i++) await env.s3.put('rdxall', `d/${i}.txt`, `document number ${i}`);
  });
  afterAll(async () => env?.stop());

  it('the fix repeats all: true', async () => {
    const dataDir = tempDir();
    const a = await startCloudport({ dataDir });
    const conn = (await a.ok('create_connector', env.connector('rdxall'))).connector.id;
    expect((await waitForJob(a, (await a.ok('start_import', { connector_id: conn, index: 'ra' })).job_id)).status).toBe('completed');
    await a.close();
    // A server that runs no import work: the reindex stays queued until it is canceled.
    const cp = await startCloudport({ dataDir, args: ['--workers', '0'] });
    try {
      const rdx = await cp.ok('reindex_index', { index: 'ra', all: true });
      expect((await cp.ok('cancel_import', { job_id: rdx.job_id })).status).toBe('canceled');
      const retry = await cp.call('start_import', { retry_of: rdx.job_id });
      expect(retry.isError).toBe(true);
      // What the fix proposes does nothing today:
      const plain = await cp.call('reindex_index', { index: 'ra' });
      expect(plain.data.queued).toBe(0);
      expect(retry.data.error.fix).toMatch(/all: ?true/);
    } finally {
      await cp.close();
    }
  });
});
