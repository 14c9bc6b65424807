import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startCloudport, tempDir, waitForJob } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A reindex_index job on a store that runs out of space waits, as imports and exports do: no file
 * fails for it (a full store is no item's fault, README "a full store pauses work instead of failing
 * files"), its pending files say "store full" rather than "its worker stopped or stalled", and once
 * there is room the job completes with every item extracted.
 */
let env: S3Env;
const N = 60;

describe('reindex_index while the SQLite store is full', () => {
  beforeAll(async () => {
    env = await startS3Env(['reindex-full']);
    for (let i = 0; i < N; i++) await env.s3.put('reindex-full', `r/${String(i).padStart(3, '0')}.txt`, `report ${i} ${'lorem ipsum dolor sit amet '.repeat(200)} ${i}`);
  });
  afterAll(async () => env?.stop());

  it('fails no file while the store is full and completes once there is room', async () => {
    const dataDir = tempDir();
    // Items imported without text: the reindex has every one of them to extract.
    let cp = await startCloudport({ dataDir, env: { CLOUDPORT_EXTRACT: 'off' } });
    const c = (await cp.ok('create_connector', env.connector('reindex-full'))).connector.id;
    const imp = await waitForJob(cp, (await cp.ok('start_import', { connector_id: c, index: 'r' })).job_id);
    expect(imp.counts.ready).toBe(N);
    await cp.close();
    const db = new Database(path.join(dataDir, 'cloudport.db'));
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pages = Number(db.pragma('page_count', { simple: true }));
    db.close();
    // Room for the job and a few texts, not for all of them.
    const fullEnv = { CLOUDPORT_SQLITE_MAX_PAGE_COUNT: String(pages + 25), CLOUDPORT_LEASE_MS: '1000', CLOUDPORT_MAX_ATTEMPTS: '2' };
    cp = await startCloudport({ dataDir, args: ['--workers', '2'], env: fullEnv });
    const r = await cp.ok('reindex_index', { index: 'r' });
    let s: Record<string, any> = {};
    for (let i = 0; i < 12; i++) {
      await sleep(1000);
      s = await cp.ok('import_status', { job_id: r.job_id });
    }
    expect(s.warning).toMatch(/^store full/);
    expect(s.counts.failed).toBe(0);
    const pending = (await cp.ok('import_status', { job_id: r.job_id, files_status: 'pending', limit: 100 })).files as { error?: string }[];
    expect(pending.filter((f) => /worker stopped or stalled/.test(f.error ?? ''))).toEqual([]);
    await cp.close();

    cp = await startCloudport({ dataDir, args: ['--workers', '2'], env: { CLOUDPORT_LEASE_MS: '1000' } });
    const fin = await waitForJob(cp, r.job_id, 120_000);
    expect(fin).toMatchObject({ status: 'completed', counts: { ready: N, failed: 0, pending: 0 } });
    await cp.close();
  });
});
