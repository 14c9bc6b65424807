import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, until } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * With the local blob store each landing renames its download into blobs/ inside the commit. When the
 * commit fails because the SQLite store is full, the file goes back to pending and the blob it put in
 * place is collected at once, as for a commit that wrote nothing: a job canceled while the store is full
 * leaves no blob that no item references.
 */
function localBlobs(dataDir: string): string[] {
  const root = path.join(dataDir, 'blobs');
  if (!fs.existsSync(root)) return [];
  // The blob store's marker (.cloudport-content-id) is no blob.
  return fs.readdirSync(root).filter((n) => !n.startsWith('.')).flatMap((shard) => fs.readdirSync(path.join(root, shard)));
}

describe('a job canceled while the SQLite store is full', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['fullblobs']);
    const puts: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) puts.push(env.s3.put('fullblobs', `documents/long-directory-name/long-directory-name/report-${String(i).padStart(3, '0')}.txt`, `report number ${i}\n`.repeat(20)));
    await Promise.all(puts);
  });
  afterAll(async () => env?.stop());

  it('leaves no blob that no item references', async () => {
    const dataDir = tempDir();
    // The job is created by a process that does no import work; the store may then grow by 3 pages: a few files land, then it is full.
    const front = await startCloudport({ dataDir, args: ['--workers', '0'] });
    const conn = (await front.ok('create_connector', env.connector('fullblobs'))).connector.id;
    const job = await front.ok('start_import', { connector_id: conn, index: 'full' });
    await front.close();
    const db = new Database(path.join(dataDir, 'cloudport.db'), { readonly: true });
    const pages = Number(db.pragma('page_count', { simple: true }));
    db.close();
    const full = await startCloudport({ dataDir, args: ['--workers', '2'], env: { CLOUDPORT_SQLITE_MAX_PAGE_COUNT: String(pages + 3), CLOUDPORT_LEASE_MS: '1000', CLOUDPORT_EXTRACT: 'off' } });
    try {
      await until('the job reports the full store', async () => ((await full.ok('import_status', { job_id: job.job_id })).warning ? true : null), 60_000);
      // A file handed back by a commit that failed was downloaded and its blob put in place first.
      await until('a file handed back by a failed commit', async () => {
        const s = await full.ok('import_status', { job_id: job.job_id, files_status: 'pending', limit: 100 });
        return (s.files as { error?: string }[]).some((f) => f.error?.startsWith('store full')) ? true : null;
      }, 60_000);
      const c = await full.ok('cancel_import', { job_id: job.job_id });
      expect(c.status).toBe('canceled');
      // Once the job's end is written (a long poll answers), nothing of it is in flight.
      await full.ok('import_status', { job_id: job.job_id, wait_seconds: 10 });
      await until('no file of the job held', async () => (await full.ok('import_status', { job_id: job.job_id })).counts.pending === 0);
      const items = (await full.ok('list_index_items', { index: 'full', limit: 1000 }).catch(() => ({ items: [] as { sha256: string }[] }))).items as { sha256: string }[];
      const referenced = new Set(items.map((i) => i.sha256));
      const orphans = localBlobs(dataDir).filter((b) => !referenced.has(b));
      expect(orphans, `${orphans.length} blob(s) in ${dataDir}/blobs that no item references`).toEqual([]);
    } finally {
      await full.close();
    }
  });
});
