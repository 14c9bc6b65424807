/**
 * A new_only import keeps a row for its first 100 skipped files and only counts the rest. import_status
 * with files_status "skipped" or "all" pages through the rows it keeps, and every page says how many
 * skipped files it leaves out (files_unlisted, and the same number in its text), so counts of 150 skipped
 * next to 100 listed are never read as the whole list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

describe('import_status skipped files past the kept rows', () => {
  let env: S3Env;
  let cp: Running;
  let job: string;
  beforeAll(async () => {
    env = await startS3Env(['skipped-unlisted']);
    for (let i = 0; i < 150; i++) await env.s3.put('skipped-unlisted', `d/f${String(i).padStart(3, '0')}.md`, `doc ${i}`);
    cp = await startCloudport({ dataDir: tempDir() });
    const conn = (await cp.ok('create_connector', env.connector('skipped-unlisted'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 'sk' })).job_id);
    await env.s3.put('skipped-unlisted', 'd/new.md', 'new');
    job = (await cp.ok('start_import', { connector_id: conn, index: 'sk', import_mode: 'new_only' })).job_id;
    const s = await waitForJob(cp, job);
    expect(s.counts.skipped).toBe(150);
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('"skipped": the pages list the kept rows, and each says how many more are counted, not listed', async () => {
    const keys: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const r = await cp.call('import_status', { job_id: job, files_status: 'skipped', limit: 60, ...(cursor ? { cursor } : {}) });
      expect(r.isError, r.text).toBe(false);
      keys.push(...r.data.files.map((f: { key: string }) => f.key));
      expect(r.data.files_unlisted).toBe(50);
      expect(r.text.split('\n')[0]).toContain('50 more skipped file(s) counted, not listed');
      if (!r.data.next_cursor) break;
      cursor = r.data.next_cursor;
    }
    expect(new Set(keys).size).toBe(100);
    expect(keys.length + 50).toBe(150);
  });

  it('"all": one page of 1000 lists the new file and the kept skipped rows, and names the 50 left out', async () => {
    const r = await cp.call('import_status', { job_id: job, files_status: 'all', limit: 1000 });
    expect(r.isError, r.text).toBe(false);
    const listed = r.data.files.length;
    let total = listed;
    for (let cursor = r.data.next_cursor; cursor; ) {
      const next = await cp.ok('import_status', { job_id: job, files_status: 'all', limit: 1000, cursor });
      total += next.files.length;
      cursor = next.next_cursor;
    }
    expect(total + r.data.files_unlisted).toBe(151);
    expect(r.data.files_unlisted).toBe(50);
    expect(r.text.split('\n')[0]).toMatch(/50 more skipped file\(s\) counted, not listed/);
  });

  it('other states say nothing of unlisted files', async () => {
    const r = await cp.call('import_status', { job_id: job, files_status: 'ready' });
    expect(r.data.files_unlisted).toBeUndefined();
    expect(r.text).not.toContain('not listed');
  });
});
