import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * README: "A page of 100 entries with keys of 40 bytes is under 12 KB of text". The page budget counts
 * a key as the text writes it, escapes included (a tag character, 4 bytes of UTF-8, is written
 * "\udb40\udc41", 12 bytes), so a page of such hostile 40-byte keys is shorter, not ~16 KB.
 */
const tag = (s: string) => [...s].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
// 2 + 9 × 4 + 2 = 40 bytes of UTF-8.
const key = (i: number) => `k/${tag('hiddenmsg')}${String(i).padStart(2, '0')}`;

describe('list_index_items page budget with escaped keys', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['tagkeys']);
    for (let i = 0; i < 100; i++) await env.s3.put('tagkeys', key(i), `v${i}`);
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('a page of list_index_items of 40-byte keys stays under 12 KB of text, whatever the keys hold', async () => {
    expect(Buffer.byteLength(key(0))).toBe(40);
    const cid = (await cp.ok('create_connector', env.connector('tagkeys'))).connector.id;
    const job = (await cp.ok('start_import', { connector_id: cid, index: 'tags' })).job_id;
    const st = await cp.ok('import_status', { job_id: job, wait_seconds: 30 });
    expect(st.counts.ready).toBe(100);
    const r = await cp.call('list_index_items', { index: 'tags', limit: 100 });
    expect(r.isError).toBe(false);
    expect(Buffer.byteLength(r.text), r.text.split('\n')[0]).toBeLessThanOrEqual(12 * 1024);
  });
});
