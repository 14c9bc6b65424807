/**
 * The look one item past the page uses the chunks already fetched only: where the top chunks all belong
 * to the page's items (a few long documents dense with the word), a page of 10 ranks once, as a page of
 * 9 does, rather than ranking every match again with K doubling until an eleventh item turns up.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { addMany, backends, cleanup, search, withStore } from '../helpers/search-store.js';
import type { Store } from '../../src/store/types.js';

afterAll(cleanup);

function countRounds(s: Store): { n: number } {
  const c = { n: 0 };
  const x = s as unknown as { candidates: (...a: unknown[]) => unknown };
  const orig = x.candidates;
  x.candidates = function (this: unknown, ...a: unknown[]) {
    c.n++;
    return orig.apply(this, a);
  };
  return c;
}

describe.each(backends)('ranking rounds of a first page: $name', (b) => {
  it('ten long documents dense with the word, many short ones: a page of 10 ranks once, as a page of 9 does', async () => {
    await withStore(b, async (s) => {
      // Chunk k of every long document holds the word 200 - k times in about 3,000 characters: the top
      // chunks interleave the ten documents (all ten are among the first 64), and every one of their 1,000
      // chunks outranks the short texts.
      const dense = (i: number, k: number) => `note ${i} ${k} ${'harbour '.repeat(200 - k)}${'lorem '.repeat(Math.ceil((3000 - 8 * (200 - k)) / 6))}`;
      await addMany(s, Array.from({ length: 10 }, (_, i) => ({ key: `long${i}.txt`, content: Array.from({ length: 100 }, (_, k) => dense(i, k)).join('\n\n') })));
      await addMany(s, Array.from({ length: 300 }, (_, i) => ({ key: `short${i}.txt`, content: `harbour lorem ipsum dolor sit amet consectetur adipiscing ${i}` })));
      const c = countRounds(s);
      let t = Date.now();
      const nine = await s.searchTexts('org_a', search('harbour', { limit: 9 }));
      const nineRounds = c.n;
      const nineMs = Date.now() - t;
      c.n = 0;
      t = Date.now();
      const ten = await s.searchTexts('org_a', search('harbour', { limit: 10 }));
      const tenMs = Date.now() - t;
      console.log(b.name, { nineRounds, nineMs, tenRounds: c.n, tenMs, nineTotal: nine.total, tenTotal: ten.total });
      expect(nine.hits).toHaveLength(9);
      expect(ten.hits).toHaveLength(10);
      expect(nineRounds).toBe(1);
      expect(c.n).toBeLessThanOrEqual(2);
    });
  }, 300_000);
});
