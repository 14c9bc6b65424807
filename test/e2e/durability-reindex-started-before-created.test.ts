import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A job's times are in order: started_at is never before created_at (a job cannot start before it
 * exists), for reindex jobs as for imports and exports. An agent that reads them to judge how long a
 * job waited or ran is otherwise told a negative wait.
 */
let env: S3Env;

describe('reindex job times', () => {
  beforeAll(async () => {
    env = await startS3Env(['reindex-times']);
    for (let i = 0; i < 20; i++) await env.s3.put('reindex-times', `t/${i}.txt`, `text number ${i}`);
  });
  afterAll(async () => env?.stop());

  it('started_at is not before created_at', async () => {
    const dataDir = tempDir();
    let cp = await startCloudport({ dataDir, env: { CLOUDPORT_EXTRACT: 'off' } });
    const c = (await cp.ok('create_connector', env.connector('reindex-times'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: c, index: 't' })).job_id);
    await cp.close();
    const bad: string[] = [];
    // A reindex called as soon as a server is up (its engine is busy with its first rounds).
    for (let round = 0; round < 4; round++) {
      cp = await startCloudport({ dataDir });
      const r = await cp.ok('reindex_index', { index: 't', all: true });
      const s = await waitForJob(cp, r.job_id);
      expect(s.status).toBe('completed');
      if (Date.parse(s.started_at) < Date.parse(s.created_at)) bad.push(`${s.job_id}: created ${s.created_at}, started ${s.started_at}`);
      await cp.close();
    }
    expect(bad).toEqual([]);
  });
});
