/**
 * A query whose words match many texts but whose item test few or none pass (a typo beside a common
 * word) ranks only the chunks of the texts that pass, so a kept ranking does not hold every content
 * walked. (Timings of the item path are in docs/decisions/search-latency.md, not asserted here.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { add, addMany, backends, cleanup, search, withStore } from '../helpers/search-store.js';

afterAll(cleanup);

const longText = (n: number, head: (i: number) => string) => Array.from({ length: n }, (_, i) => `${head(i)} ${'lorem ipsum dolor sit amet '.repeat(100)}`).join('\n\n');

describe.each(backends)('kept rankings of the item path: $name', (b) => {
  it('a kept ranking stays small (RANKED_KEPT = 2,000 rows): a query whose candidates all fail the item test does not keep every content it walked', async () => {
    await withStore(b, async (s) => {
      await addMany(s, Array.from({ length: 5000 }, (_, i) => ({ key: `d${i}.txt`, content: `the filler number ${i}` })));
      await add(s, 'long.txt', longText(3, () => 'nothing'));
      // A typo: "the" is in every text, "contarct" in none; 10 such queries are kept (up to 32 are).
      for (let i = 0; i < 10; i++) expect((await s.searchTexts('org_a', search(`the contarct${i}`))).hits).toEqual([]);
      const kept = [...(s as unknown as { rankings: Map<string, { ranked: unknown[]; pending: unknown[]; seen: Set<string> }> }).rankings.values()];
      const rows = kept.map((r) => r.ranked.length + r.pending.length + r.seen.size);
      // Each kept ranking of no item holds the 5,000 contents walked (seen): 50,000 strings of 64
      // characters for 10 empty results; 32 queries over a store of 200,000 texts keep 6.4 million.
      expect(Math.max(...rows)).toBeLessThanOrEqual(2000);
    });
  }, 300_000);
});
