import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { sha256, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A re-import that gives a key new content replaces its item; the old content's blob, once no item
 * references it, is removed at once (as delete_item removes an item's), not left for the next start or
 * the 6-hour sweep: a bucket whose files change, imported again and again, does not grow the data dir
 * by every old version.
 */
function localBlobs(dataDir: string): string[] {
  const root = path.join(dataDir, 'blobs');
  if (!fs.existsSync(root)) return [];
  // The blob store's marker (.cloudport-content-id) is no blob.
  return fs.readdirSync(root).filter((n) => !n.startsWith('.')).flatMap((shard) => fs.readdirSync(path.join(root, shard)));
}

describe('content replaced by a re-import', () => {
  let env: S3Env;
  let cp: Running;
  const dataDir = tempDir();
  beforeAll(async () => {
    env = await startS3Env(['replace']);
    for (let i = 0; i < 10; i++) await env.s3.put('replace', `r/${i}.txt`, `version one of ${i}`);
    cp = await startCloudport({ dataDir, env: { CLOUDPORT_EXTRACT: 'off' } });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('no blob is left that no item references once the job has ended', async () => {
    const conn = (await cp.ok('create_connector', env.connector('replace'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 'r' })).job_id);
    expect(localBlobs(dataDir)).toHaveLength(10);
    for (let i = 0; i < 10; i++) await env.s3.put('replace', `r/${i}.txt`, `version two of ${i}`);
    const s = await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 'r', import_mode: 'new_only' })).job_id);
    expect(s.counts).toMatchObject({ ready: 10, failed: 0 });
    const items = (await cp.ok('list_index_items', { index: 'r', limit: 100 })).items as { key: string; sha256: string }[];
    for (const it of items) expect(it.sha256).toBe(sha256(`version two of ${it.key.slice(2, -4)}`));
    const old = Array.from({ length: 10 }, (_, i) => sha256(`version one of ${i}`));
    const left = localBlobs(dataDir).filter((b) => old.includes(b));
    expect(left, 'blobs of the replaced content, referenced by no item').toEqual([]);
    expect(localBlobs(dataDir).sort()).toEqual(items.map((i) => i.sha256).sort());
  });
});
