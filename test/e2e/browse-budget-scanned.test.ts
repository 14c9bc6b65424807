import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * browse_connector without a pattern, over long keys: a page cut by the text budget counts only the
 * objects it scanned and shows ("11 object(s) matched of 11 scanned"), and the object left out is
 * counted by the next page that shows it, so the pages' "scanned" add up to the objects the prefix holds.
 */
const key = (i: number) => `long/${String(i).padStart(3, '0')}-${'k'.repeat(900)}.txt`;

describe('browse counts when the text budget cuts a page', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['scan-bkt']);
    for (let i = 0; i < 30; i++) await env.s3.put('scan-bkt', key(i), `v${i}`);
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('with no pattern every scanned object matched, on every page, and scanned adds up to the objects', async () => {
    const cid = (await cp.ok('create_connector', env.connector('scan-bkt'))).connector.id;
    let cursor: string | undefined;
    let scanned = 0;
    const seen: string[] = [];
    do {
      const r = await cp.call('browse_connector', { connector_id: cid, prefix: 'long/', limit: 100, ...(cursor ? { cursor } : {}) });
      expect(r.isError, r.text).toBe(false);
      const page = JSON.parse(r.text.split('\n')[1]!);
      const summary = r.text.split('\n')[0]!;
      expect(page.matched, summary).toBe(page.scanned);
      scanned += page.scanned;
      seen.push(...page.objects.map((o: [string]) => o[0]));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => key(i)));
    expect(scanned).toBe(30);
  });
});
