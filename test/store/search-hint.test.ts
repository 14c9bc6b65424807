/**
 * search_index's hint when nothing matched, on both stores: matches outside the prefix (a number only
 * when counted), a phrase whose words match only apart (only for quotes the caller typed, and never a
 * search of more terms than a query may have).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SearchService } from '../../src/core/search/service.js';
import { chunkText } from '../../src/core/search/chunks.js';
import type { Store, TextSearch } from '../../src/store/types.js';
import { add, backends, cleanup, withStore } from '../helpers/search-store.js';

afterAll(cleanup);

/** A text of several chunks, so that the store takes its item path. */
const long = Array.from({ length: 3 }, () => `nothing ${'lorem ipsum dolor sit amet '.repeat(100)}`).join('\n\n');

/** Every search the service asks of the store. */
function spy(s: Store): TextSearch[] {
  const seen: TextSearch[] = [];
  const orig = s.searchTexts.bind(s);
  s.searchTexts = (org, q) => {
    seen.push(q);
    return orig(org, q);
  };
  return seen;
}

describe.each(backends)('search hint: $name', (b) => {
  // parseQuery refuses more than 32 terms, but a phrase is one term of any number of words (up to ~250
  // in 500 characters). unquoted() makes each word a clause of its own and runs that query: up to ~250
  // clauses, i.e. a 250-way INTERSECT and an FTS5/tsquery OR of 250 terms ranked with BM25/ts_rank.
  // Measured on 1,500 documents of 3 chunks of common words: a 35-word quoted sentence (the one below) that is not in
  // the corpus answers in 84 ms without the hint and 3.3 s with it (SQLite; PostgreSQL 45 ms -> 1.05 s);
  // a 99-word phrase: 0.33 s -> 25.9 s (SQLite). Every new quoted sentence pays it again (the cache is by query).
  it('the hint runs no search of more terms than a query may have (32)', async () => {
    await withStore(b, async (s) => {
      await add(s, 'long.txt', long);
      await add(s, 'a.txt', 'the report says the thing is the best of the lot and the rest');
      const svc = new SearchService(s);
      const seen = spy(s);
      const sentence = 'the best of the report says the lot is the thing and the rest of the report is the best of the lot and the thing says the rest is the report of the best';
      const r = await svc.search('org_a', { query: `"${sentence}"`, limit: 10 });
      expect(r.results).toHaveLength(0);
      const terms = seen.map((q) => (q.item ? q.item.fts5All.length : 1));
      expect(Math.max(...terms)).toBeLessThanOrEqual(32);
    });
  });

  // foldWords makes "e-mail", "U.S.A" or "john@example.com" a phrase without any quote typed. When its
  // words match apart the hint says "not side by side in the order the quotes ask: drop the quotes",
  // which the caller cannot do: there are no quotes.
  it('a query without quotes is not told to drop its quotes', async () => {
    await withStore(b, async (s) => {
      await add(s, 'a.txt', 'send mail to the e team');
      const svc = new SearchService(s);
      const r = await svc.search('org_a', { query: 'e-mail', limit: 10 });
      expect(r.results).toHaveLength(0);
      expect(r.hint).not.toMatch(/quotes/);
    });
  });

  // Chunks do not overlap: a phrase whose words stand side by side across a chunk boundary does not
  // match, while its words apart do; the hint then claims they are not side by side, which is false.
  it('a phrase side by side across a chunk boundary is not said to be apart', async () => {
    await withStore(b, async (s) => {
      const filler = 'lorem ipsum dolor sit amet '.repeat(115).trim(); // ~3,100 characters, no sentence end
      const text = `${filler} governing\n\nlaw ${filler}`;
      const chunks = chunkText(text);
      // The phrase's words end one chunk and begin the next.
      expect(chunks[0]!.body.trimEnd().endsWith('governing')).toBe(true);
      expect(chunks[1]!.body.startsWith('law')).toBe(true);
      await add(s, 'contract.txt', text);
      const svc = new SearchService(s);
      const r = await svc.search('org_a', { query: '"governing law"', limit: 10 });
      // Either the item is found, or the hint does not claim the words are apart.
      if (!r.results.length) expect(r.hint).not.toMatch(/not side by side/);
    });
  });

  // The count without the prefix is searchTexts' total, an estimate when this organization holds every
  // item of the store and more than one fetch of chunks matches (its `exact` is ignored). The hint
  // states it as a count: here one item matches outside the prefix, and the hint says 13 (200 matching chunks x 1/16 resolved).
  it('the number of items outside the prefix is a count, or said to be about', async () => {
    await withStore(b, async (s) => {
      // One document of ~200 chunks, each holding "alpha".
      const para = `alpha ${'lorem ipsum dolor sit amet '.repeat(110)}`;
      await add(s, 'x/long.txt', Array.from({ length: 200 }, () => para).join('\n\n'));
      const svc = new SearchService(s);
      const r = await svc.search('org_a', { query: 'alpha', prefix: 'y/', limit: 10 });
      expect(r.results).toHaveLength(0);
      // A number only when counted: one item here, or none said.
      expect(r.hint).toMatch(/^(1 item\(s\)|items) match outside prefix "y\/"/);
    });
  });
});
