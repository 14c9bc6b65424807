import { describe, expect, it } from 'vitest';
import type { Running } from '../helpers/cloudport.js';
import { bothStores } from '../helpers/two-stores.js';

/**
 * A query with an exclusion ranks its results by relevance on PostgreSQL as on SQLite: "contract
 * -draft" orders the items that are left exactly as "contract" orders them, best first, with scores
 * that tell the better matches from the weaker ones (not every result at the same score, in the order
 * the texts happened to be stored).
 */
// Keys sort (and import) from the weakest match to the strongest: an order by storage is the reverse of relevance.
const DOCS: Record<string, string> = {
  ...Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`k${i + 1}.txt`, `${'contract '.repeat(i + 1)}terms of the deal`])),
  'x.txt': 'contract draft terms of the deal',
};

describe('ranking with an excluded word', () => {
  const cps = bothStores('qa_search2_notrank', DOCS);
  const ranked = async (cp: Running, query: string) => ((await cp.ok('search_index', { query, limit: 50 })).results as { key: string; score: number }[]);

  for (const store of ['sqlite', 'pg'] as const) {
    it(`${store}: "contract -draft" ranks as "contract" does, minus the excluded item`, async () => {
      const plain = (await ranked(cps[store], 'contract')).map((r) => r.key).filter((k) => k !== 'x.txt');
      const excluded = await ranked(cps[store], 'contract -draft');
      expect(excluded.map((r) => r.key)).toEqual(plain);
      expect(excluded[0]!.key).toBe('k6.txt');
      // The scores tell the six matches apart.
      expect(new Set(excluded.map((r) => r.score)).size).toBeGreaterThan(1);
    });
  }
});
