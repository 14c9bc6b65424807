import { describe, expect, it } from 'vitest';
import { bothStores } from '../helpers/two-stores.js';

/**
 * A `*` typed at the end of a phrase's quotes (`"governing la*"`) makes its last word a prefix, as
 * `"governing la"*` does, on both stores: the star is not dropped, leaving a search for the word "la".
 */
describe('a star inside quotes', () => {
  const cps = bothStores('qa_star_quotes', { 'a.txt': 'governing law of Delaware' });
  for (const store of ['sqlite', 'pg'] as const) {
    it(`finds the phrase prefix or says where the star goes (${store})`, async () => {
      const cp = cps[store];
      const asTyped = await cp.call('search_index', { query: '"governing la*"' });
      expect(asTyped.isError).toBe(false);
      expect((asTyped.data.results as { key: string }[]).map((r) => r.key)).toEqual(['a.txt']);
      expect((await cp.ok('search_index', { query: '"governing law*"' })).results).toHaveLength(1);
      expect((await cp.ok('search_index', { query: '"governing de*"' })).results).toEqual([]);
    });
  }
});
