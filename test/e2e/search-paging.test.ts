import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Paging a search of long documents (texts of several chunks) to its end, cold (the first time each
 * query runs since the store changed), as an agent does: no page after the last, totals counted rather
 * than estimated from matching chunks (a word in every passage of 16 texts among 60 once read "about
 * 54"), and a page past the end, after items were deleted, saying so rather than "no item matches".
 */
const VOCAB = 'account agreement amount audit balance board budget capital client committee contract cost court credit customer debt delivery director document duty employee estimate expense facility finance freight goods income insurance interest inventory invoice labor lease letter liability license loan manager market meeting member notice obligation office order owner party payment period policy price process product project property purchase quarter rate record report request review risk salary schedule security service share shipment supplier support tax term title total transfer trust unit value vendor'.split(' ');

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}
/** About `bytes` of paragraphs; `every` (if given) is a sentence added to each paragraph. */
function text(seed: number, bytes: number, every?: string): string {
  const r = rng(seed);
  const paras: string[] = [];
  let n = 0;
  while (n < bytes) {
    const words = Array.from({ length: 60 + Math.floor(r() * 40) }, () => VOCAB[Math.floor(r() * VOCAB.length)]);
    const p = words.join(' ') + '. The shared word hereby appears.' + (every ? ` ${every}` : '');
    paras.push(p);
    n += p.length + 2;
  }
  return paras.join('\n\n') + '\n';
}

async function pageAll(cp: Running, args: Record<string, unknown>) {
  const pages: { n: number; est: number; next: boolean; summary: string }[] = [];
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const r = await cp.call('search_index', { ...args, ...(cursor ? { cursor } : {}) });
    expect(r.isError, r.text).toBe(false);
    const d = r.data as { results: { key: string }[]; total_estimate: number; next_cursor: string | null };
    pages.push({ n: d.results.length, est: d.total_estimate, next: !!d.next_cursor, summary: r.text.split('\n')[0]! });
    keys.push(...d.results.map((x) => x.key));
    cursor = d.next_cursor ?? undefined;
  } while (cursor && pages.length < 100);
  return { pages, keys };
}

describe('paging and totals over long documents', () => {
  let env: S3Env;
  let cp: Running;

  beforeAll(async () => {
    env = await startS3Env(['docs']);
    // 16 "PDF-like" texts of ~18 KB (about 8 passages), the word "pdf" in every passage ...
    for (let i = 0; i < 16; i++) await env.s3.put('docs', `pdfs/p${i}.txt`, text(100 + i, 18_000, 'Page header of the pdf file.'));
    // ... and 44 texts of 20-220 KB without it.
    for (let i = 0; i < 44; i++) await env.s3.put('docs', `long/t${i}.txt`, text(200 + i, 20_000 + (i % 10) * 20_000));
    cp = await startCloudport({ dataDir: tempDir() });
    const conn = (await cp.ok('create_connector', env.connector('docs'))).connector.id;
    const done = await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 'lib' })).job_id);
    expect(done.counts.ready).toBe(60);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('cold searches of words in (nearly) every text page to their end without an empty "no item matches" page', async () => {
    // Each word is searched once (cold), at a page size that divides 60: the page of the last items offers
    // no cursor (it once said "of about 61 ...; more with next_cursor", then "no item matches hereby: ").
    const words = ['hereby', 'account', 'agreement', 'amount', 'audit', 'balance', 'board', 'budget'];
    const limits = [10, 5, 6, 12, 15, 20, 30, 10];
    const bad: string[] = [];
    for (const [i, w] of words.entries()) {
      const { pages, keys } = await pageAll(cp, { query: w, limit: limits[i] });
      const n = new Set(keys).size;
      expect(keys.length).toBe(n);
      for (const p of pages) if (p.n === 0 || /^no item matches/.test(p.summary) || p.est > n) bad.push(`${w} (limit ${limits[i]}, ${n} items): ${p.summary} [total_estimate ${p.est}]`);
    }
    expect(bad).toEqual([]);
  });

  it('the first page estimates a word confined to 16 of 60 texts within a factor of 2', async () => {
    const { pages, keys } = await pageAll(cp, { query: 'pdf', limit: 10 });
    expect(new Set(keys).size).toBe(16);
    expect(pages[0]!.est, pages[0]!.summary).toBe(16);
    expect(pages[0]!.summary).toMatch(/^results 1-10 of 16 matching item\(s\) for pdf; more with next_cursor/);
  });

  it('an OR of words confined to some texts is estimated within a factor of 2, and pages end without an empty page', async () => {
    const { pages, keys } = await pageAll(cp, { query: 'pdf OR header', limit: 8 });
    expect(new Set(keys).size).toBe(16);
    expect(pages[0]!.est, pages[0]!.summary).toBeLessThanOrEqual(32);
    expect(pages.filter((p) => p.n === 0).map((p) => p.summary)).toEqual([]);
  });

  it('a page past the end, after items were deleted since the previous page, says so', async () => {
    const first = await cp.ok('search_index', { query: 'pdf', limit: 10 });
    expect(first.next_cursor).toBeTruthy();
    for (let i = 0; i < 10; i++) await cp.ok('delete_item', { index: 'lib', key: `pdfs/p${i}.txt` });
    const past = await cp.call('search_index', { query: 'pdf', limit: 10, cursor: first.next_cursor });
    expect(past.data.results).toEqual([]);
    expect(past.text).toMatch(/^no results past 10 for pdf: the search has 6 matching item\(s\) \(fewer now if items were deleted or changed since the previous page\)/);
  });
});
