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
      // A typo: "the" is in every text, "contarct" in none; 10 such queries are kept.
      for (let i = 0; i < 10; i++) expect((await s.searchTexts('org_a', search(`the contarct${i}`))).hits).toEqual([]);
      const kept = [...(s as unknown as { rankings: Map<string, { ranked: unknown[]; pending: unknown[]; seen: Set<string> }> }).rankings.values()];
      const rows = kept.map((r) => r.ranked.length + r.pending.length + r.seen.size);
      // Each kept ranking of no item holds the 5,000 contents walked (seen): 50,000 strings of 64
      // characters for 10 empty results; 32 queries over a store of 200,000 texts keep 6.4 million.
      expect(Math.max(...rows)).toBeLessThanOrEqual(2000);
    });
  }, 300_000);

  it('keeps hundreds of short rankings, drops those of an older version at the next keep, and holds them to a budget of rows', async () => {
    await withStore(b, async (s) => {
      await addMany(s, Array.from({ length: 300 }, (_, i) => ({ key: `w${i}.txt`, content: `alpha word${i} beta` })));
      const rankings = () => (s as unknown as { rankings: Map<string, { ranked: unknown[]; pending: unknown[]; seen: Set<string>; version: string | null }> }).rankings;
      for (let i = 0; i < 200; i++) expect((await s.searchTexts('org_a', search(`word${i}`))).hits).toHaveLength(1);
      // PostgreSQL's version (its snapshot) moves with any transaction of the server's, so only SQLite's
      // count is certain here.
      if (b.name === 'sqlite') expect(rankings().size).toBe(200);
      const first = [...rankings().keys()][0];
      await add(s, 'new.txt', 'alpha gamma');
      await s.searchTexts('org_a', search('gamma'));
      expect(rankings().has(first)).toBe(false);
      expect(new Set([...rankings().values()].map((r) => r.version)).size).toBe(1);
      // Long rankings: "alpha" is in all 301 texts; pages deep enough keep every item resolved.
      for (let i = 0; i < 300; i++) await s.searchTexts('org_a', search(`alpha -nothing${i}`, { offset: 290, limit: 10 }));
      const rows = [...rankings().values()].reduce((n, r) => n + r.ranked.length + r.pending.length + r.seen.size, 0);
      expect(rows).toBeLessThanOrEqual(16_000);
      expect(rankings().size).toBeLessThan(300);
    });
  }, 300_000);
});
