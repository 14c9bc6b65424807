/**
 * One estimate at most per search call: settleTotal runs once, after the look one item past the page
 * (which may resolve more items). Counted by statements: texts of one chunk only, a search of index A
 * whose top 16 chunks hold 5 of A's items (11 are B's), the next 16 all A's; 64 chunks match.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { addMany, backends, cleanup, search, withStore } from '../helpers/search-store.js';
import type { Store } from '../../src/store/types.js';

afterAll(cleanup);

function spy(s: Store) {
  const c = { estimates: 0, statements: 0 };
  const x = s as unknown as { estimateMatches: (...a: unknown[]) => Promise<unknown>; exec: (...a: unknown[]) => Promise<unknown> };
  const est = x.estimateMatches;
  x.estimateMatches = function (this: unknown, ...a: unknown[]) {
    c.estimates++;
    return est.apply(this, a);
  };
  const exec = x.exec;
  x.exec = function (this: unknown, ...a: unknown[]) {
    c.statements++;
    return exec.apply(this, a);
  };
  return c;
}

const doc = (tag: string, times: number, i: number) => `${'harbour '.repeat(times)}${tag} ${i} lorem ipsum dolor sit amet ${'x'.repeat(times)}`;

describe.each(backends)('one estimate per search call: $name', (b) => {
  it('a first page whose look-ahead resolves past the estimate does not estimate twice', async () => {
    await withStore(b, async (s) => {
      // Tier 1 (16 chunks, the best): 5 in A, 11 in B. Tier 2 (16): all A. Tier 3 (32): B.
      await addMany(s, Array.from({ length: 5 }, (_, i) => ({ key: `a1_${i}.txt`, content: doc('aone', 12, i) })), { index: 'A' });
      await addMany(s, Array.from({ length: 11 }, (_, i) => ({ key: `b1_${i}.txt`, content: doc('bone', 12, i) })), { index: 'B' });
      await addMany(s, Array.from({ length: 16 }, (_, i) => ({ key: `a2_${i}.txt`, content: doc('atwo', 6, i) })), { index: 'A' });
      await addMany(s, Array.from({ length: 32 }, (_, i) => ({ key: `b3_${i}.txt`, content: doc('bthree', 1, i) })), { index: 'B' });
      const c = spy(s);
      const r = await s.searchTexts('org_a', search('harbour', { limit: 5, indexes: ['A'] }));
      const first = { ...c };
      c.estimates = 0;
      c.statements = 0;
      const again = await s.searchTexts('org_a', search('harbour', { limit: 5, indexes: ['A'] }));
      console.log(b.name, { first, repeated: { ...c }, total: r.total, againTotal: again.total, exact: r.exact });
      expect(r.hits.map((h) => h.key).sort()).toEqual(Array.from({ length: 5 }, (_, i) => `a1_${i}.txt`));
      // Once settled before the look ahead too, the first estimate (20) fell below the 21 items it resolved, and a second followed.
      expect(first.estimates).toBe(1);
    });
  }, 120_000);
});
