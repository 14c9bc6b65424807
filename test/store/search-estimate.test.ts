/**
 * Search totals on the item path (a store with texts of several chunks, a query of several clauses or
 * exclusions): the items that pass the test are counted, not estimated from the chunks that hold some
 * word, so a common word beside a rare one reports the rare one's items, and a page that has them all
 * offers no next_cursor.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { searchTuning } from '../../src/store/kysely/texts.js';
import { SearchService } from '../../src/core/search/service.js';
import { add, addMany, backends, cleanup, estimatingTotals, search, walk, withStore } from '../helpers/search-store.js';

afterAll(cleanup);
const EXACT = searchTuning.exactCountChunks;

const filler = 'lorem ipsum dolor sit amet '.repeat(110);
const longUnrelated = Array.from({ length: 3 }, () => `nothing ${'lorem ipsum dolor sit amet '.repeat(100)}`).join('\n\n');

describe.each(backends)('search totals with an item test: $name', (b) => {
  it('a common word with a rare one: the estimate stays near the items that match once the store holds a text of several chunks', async () => {
    await withStore(b, async (s) => {
      await addMany(s, Array.from({ length: 300 }, (_, i) => ({ key: `d${i}.txt`, content: `common filler number ${i}` })));
      for (let i = 0; i < 10; i++) await add(s, `r${i}.txt`, `common rare ${i}`);
      const svc = new SearchService(s);
      // Texts of one chunk only: the whole query is counted; ten items, no cursor.
      const before = await svc.search('org_a', { query: 'common rare', limit: 10 });
      expect({ n: before.results.length, total: before.total_estimate, next: before.next_cursor }).toEqual({ n: 10, total: 10, next: null });

      // One text of several chunks, holding neither word, arrives.
      await add(s, 'long.txt', longUnrelated);
      const direct = await s.searchTexts('org_a', search('common rare', { limit: 10 }));
      const after = await svc.search('org_a', { query: 'common rare', limit: 10 });
      const second = after.next_cursor ? await svc.search('org_a', { query: 'common rare', limit: 10, cursor: after.next_cursor }) : null;
      // The same ten items...
      expect(after.results.map((r) => r.key).sort()).toEqual(before.results.map((r) => r.key).sort());
      // ...reported as ~155 (300 "common" chunks + 10 x the share 10/20), with a cursor to an empty page.
      expect({ directTotal: direct.total, total_estimate: after.total_estimate, secondPage: second?.results.length ?? null }).toEqual({ directTotal: 10, total_estimate: 10, secondPage: null });
    });
  }, 120_000);

  it('no text passes the item test: no hits, a total of 0 counted', async () => {
    await withStore(b, async (s) => {
      await add(s, 'long.txt', longUnrelated);
      await addMany(s, Array.from({ length: 100 }, (_, i) => ({ key: `d${i}.txt`, content: `indemnification clause ${i}` })));
      const r = await s.searchTexts('org_a', search('indemnification delaware', { limit: 10 }));
      expect(r).toEqual({ hits: [], total: 0, exact: true });
    });
  }, 120_000);

  it('40 items of both words among 400 of one: the estimate is near 40, not the 440 chunks holding either word', async () => {
    await withStore(b, async (s) => {
      await add(s, 'long.txt', longUnrelated);
      // 40 documents of both words, 400 of one: the page of ten has the first of the 40; the estimate (440) counts the chunks of either word.
      await addMany(s, Array.from({ length: 400 }, (_, i) => ({ key: `d${i}.txt`, content: `indemnification clause ${i}` })));
      await addMany(s, Array.from({ length: 40 }, (_, i) => ({ key: `r${i}.txt`, content: `indemnification delaware ${i}` })));
      const r = await s.searchTexts('org_a', search('indemnification delaware', { limit: 10 }));
      expect(r.hits).toHaveLength(10);
      // 40 match; allow the estimate twice that.
      expect(r.total).toBeLessThanOrEqual(80);
    });
  }, 120_000);
});

describe('the counts behind the estimate (past the limit of exact counts): sqlite', () => {
  estimatingTotals();

  it('are kept across a write that touches no text (a job created), not counted again for each search', async () => {
    await withStore(backends.find((x) => x.name === 'sqlite')!, async (s) => {
      await add(s, 'long.txt', Array.from({ length: 3 }, (_, k) => `harbour ${k} ${filler}`).join('\n\n'));
      for (let i = 0; i < 80; i++) await add(s, `s${i}.txt`, `harbour short ${i}`);
      const c = s as unknown as { counted: unknown };
      await s.searchTexts('org_a', search('harbour', { limit: 5 }));
      const first = c.counted;
      expect(first).not.toBeNull();
      await s.createJob({ id: 'unrelated', org_id: 'org_a', kind: 'import', connector_id: 'conn_1', index_name: 'other', params: '{}', status: 'queued', listing_state: null, listing_complete: 1, lease_owner: null, lease_expires: 0, error: null, created_at: '2026-01-01T00:00:00.000Z' }, []);
      await s.searchTexts('org_a', search('harbour', { limit: 5 }));
      expect(c.counted).toBe(first);
    });
  }, 120_000);
});

// Past searchTuning.exactCountChunks matching chunks (20,000) the items are estimated: the estimator,
// with the limit at 0. Below it they are counted (the first case checks that too).
describe.each(backends)('estimated totals over texts of several chunks: $name', (b) => {
  estimatingTotals();

  it('a word in every chunk of 120 texts: the estimate counts texts, not their matching chunks', async () => {
    await withStore(b, async (s) => {
      // 120 texts of 4-6 chunks, "harbour" in every paragraph: 500-700 matching chunks, 120 items.
      const para = (i: number, k: number) => `harbour note ${i} part ${k} ${'lorem ipsum dolor sit amet '.repeat(110)}`;
      await addMany(s, Array.from({ length: 120 }, (_, i) => ({ key: `long${i}.txt`, content: Array.from({ length: 4 + (i % 3) }, (_, k) => para(i, k)).join('\n\n') })));
      await addMany(s, Array.from({ length: 30 }, (_, i) => ({ key: `short${i}.txt`, content: `nothing here ${i}` })));
      const r = await s.searchTexts('org_a', search('harbour', { limit: 10 }));
      expect(r.hits).toHaveLength(10);
      expect(r.exact).toBe(false);
      // 120 match. The estimate takes the matching chunks as spread at random over the store's texts, so
      // it may count the 30 short texts too, but never more texts than the store holds (150): not 600.
      expect(r.total).toBeGreaterThanOrEqual(110);
      expect(r.total).toBeLessThanOrEqual(150);
      // Below the limit (the default), the same items are counted.
      searchTuning.exactCountChunks = EXACT;
      try {
        expect(await s.searchTexts('org_a', search('harbour', { limit: 10, prefix: 'long' }))).toMatchObject({ total: 120, exact: true });
      } finally {
        searchTuning.exactCountChunks = 0;
      }
    });
  }, 120_000);

  it('a word in every chunk of 20 of 200 long texts: the estimate stays within 2x of the 20 items', async () => {
    await withStore(b, async (s) => {
      await addMany(s, Array.from({ length: 200 }, (_, i) => ({ key: `long${i}.txt`, content: Array.from({ length: 6 }, (_, k) => `${i < 20 ? 'harbour' : 'nothing'} note ${i} part ${k} ${filler}`).join('\n\n') })));
      const r = await s.searchTexts('org_a', search('harbour', { limit: 10 }));
      expect(r.exact).toBe(false);
      expect((await walk(s, 'org_a', 'harbour', 10)).keys).toHaveLength(20);
      // Texts as if the matching chunks fell at random: 94; items per resolved chunk: 21.
      expect(r.total).toBeLessThanOrEqual(40);
    });
  }, 120_000);

  it('a word in every chunk of all 300 texts, each text best at its first chunk: the estimate stays within 2x of 300', async () => {
    await withStore(b, async (s) => {
      await addMany(s, Array.from({ length: 300 }, (_, i) => ({ key: `long${i}.txt`, content: Array.from({ length: 5 }, (_, k) => `${k === 0 ? 'harbour harbour harbour' : 'harbour'} note ${i} part ${k} ${filler}`).join('\n\n') })));
      const r = await s.searchTexts('org_a', search('harbour', { limit: 10 }));
      expect(r.exact).toBe(false);
      // Items per resolved chunk: about 1,500 (the top chunks are one per text); as texts: about 300.
      expect(r.total).toBeLessThanOrEqual(600);
    });
  }, 120_000);
});
