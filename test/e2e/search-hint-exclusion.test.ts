import { describe, expect, it } from 'vitest';
import { bothStores } from '../helpers/two-stores.js';

/**
 * When a query's words match but its exclusions remove every match, the "nothing matched" hint says
 * so, naming the excluded term and how many items the words alone find, instead of claiming that no
 * item matches every word (which sends an agent off to drop words that did match).
 */
const DOCS: Record<string, string> = {
  'msa.txt': 'master services agreement, draft two, governing law delaware',
  'nda.txt': 'mutual nda draft, governing law delaware',
};

describe('the hint when exclusions remove every match', () => {
  const cps = bothStores('qa_search2_hintnot', DOCS);

  for (const store of ['sqlite', 'pg'] as const) {
    it(`${store}: "delaware -draft" says -draft excluded the 2 items that match delaware`, async () => {
      const r = await cps[store].call('search_index', { query: 'delaware -draft' });
      expect(r.isError).toBe(false);
      const d = r.data as { results: unknown[]; hint?: string };
      expect(d.results).toEqual([]);
      expect(d.hint).not.toMatch(/no item matches every word/);
      expect(d.hint).toMatch(/-?draft/);
      expect(d.hint).toMatch(/\b2\b/);
    });
  }
});
