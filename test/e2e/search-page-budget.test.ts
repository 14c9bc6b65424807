import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * search_index pages are kept to a text budget: with keys of ~900 bytes (S3 allows 1024) and snippets
 * of CJK text, a page of limit 50 would be ~80 KB of text, over the 64 KiB an agent's result may take.
 * Like browse and list_index_items, long keys make a page shorter (fewer results and a cursor), never
 * an entry cut, and paging still reaches every hit exactly once.
 */
const key = (i: number) => `long/${String(i).padStart(3, '0')}-${'k'.repeat(900)}.txt`;

describe('search_index page budget', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['srch-bkt']);
    for (let i = 0; i < 60; i++) await env.s3.put('srch-bkt', key(i), `zebra number ${i} ${'漢字 '.repeat(200)}`, { contentType: 'text/plain; charset=utf-8' });
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  const text = async (name: string, args: Record<string, unknown>) => {
    const r = await cp.client.callTool({ name, arguments: args });
    const t = (r.content as { text: string }[]).map((c) => c.text).join('\n');
    if (r.isError) throw new Error(t);
    return t;
  };
  const body = (t: string) => JSON.parse(t.split('\n')[1]!);

  it('every page of search_index {limit: 50} is at most 64 KiB of text and the pages hold every hit once', async () => {
    const cid = body(await text('create_connector', env.connector('srch-bkt'))).connector.id;
    const job = body(await text('start_import', { connector_id: cid, index: 'long' })).job_id;
    expect(await text('import_status', { job_id: job, wait_seconds: 30 })).toMatch(/ completed: 60 ready/);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const t = await text('search_index', { query: 'zebra', index: 'long', limit: 50, ...(cursor ? { cursor } : {}) });
      expect(Buffer.byteLength(t), `page ${pages + 1}: ${t.split('\n')[0]}`).toBeLessThanOrEqual(64 * 1024);
      const page = body(t);
      for (const row of page.results) seen.push(row[1]);
      cursor = page.next_cursor;
      pages++;
    } while (cursor && pages < 20);
    expect(seen.sort()).toEqual(Array.from({ length: 60 }, (_, i) => key(i)));
  });
});
