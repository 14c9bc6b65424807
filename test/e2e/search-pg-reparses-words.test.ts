import { describe, expect, it } from 'vitest';
import type { Running } from '../helpers/cloudport.js';
import { bothStores } from '../helpers/two-stores.js';

/**
 * A word of letters and digits is one word on both stores, whatever it looks like to PostgreSQL's own
 * parser: "4e2b1c" (a hex id, a part number, a commit hash) is the single word 4e2b1c on SQLite and on
 * PostgreSQL alike, so a search for "b1c", "4e2" or the phrase "4e2 b1c" finds the same items on both
 * (only the document that holds those words), and a result's snippet marks the word that matched.
 * Likewise a word in a script newer than the PostgreSQL server's C library (Kirat Rai, Unicode 16) is
 * a word there as on SQLite: found by itself, and not turned into a separator that splits the word
 * around it.
 */
const DOCS: Record<string, string> = {
  'hex.txt': 'build 4e2b1c passed',
  'apart.txt': 'values 4e2 and b1c',
  'part.txt': 'order part 3e8xl today',
  'kirat.txt': 'rai \u{16D43}\u{16D44}\u{16D45} text and ab\u{16D43}cd',
};

describe('PostgreSQL indexes the words cloudport folded, not its own parse of them', () => {
  const cps = bothStores('qa_search2_exp', DOCS);
  const keys = async (cp: Running, query: string) => ((await cp.ok('search_index', { query, limit: 50 })).results as { key: string }[]).map((r) => r.key).sort();
  const both = async (query: string) => ({ sqlite: await keys(cps.sqlite, query), pg: await keys(cps.pg, query) });

  it('the part of a word after its exponent is not a word of its own', async () => {
    expect(await both('b1c')).toEqual({ sqlite: ['apart.txt'], pg: ['apart.txt'] });
    expect(await both('xl')).toEqual({ sqlite: [], pg: [] });
    expect(await both('b1c*')).toEqual({ sqlite: ['apart.txt'], pg: ['apart.txt'] });
  });

  it('the number-like start of a word is not a word of its own', async () => {
    expect(await both('4e2')).toEqual({ sqlite: ['apart.txt'], pg: ['apart.txt'] });
    expect(await both('3e8')).toEqual({ sqlite: [], pg: [] });
  });

  it('a phrase of two words does not match one word that holds them', async () => {
    expect(await both('"4e2 b1c"')).toEqual({ sqlite: [], pg: [] });
  });

  it('the whole word is found, and marked, on both', async () => {
    for (const cp of [cps.sqlite, cps.pg]) {
      const r = (await cp.ok('search_index', { query: '4e2b1c' })).results as { key: string; snippet: string }[];
      expect(r.map((x) => [x.key, x.snippet])).toEqual([['hex.txt', 'build «4e2b1c» passed']]);
    }
  });

  it('a word of a script newer than the server\'s C library is a word on both', async () => {
    expect(await both('\u{16D43}\u{16D44}\u{16D45}')).toEqual({ sqlite: ['kirat.txt'], pg: ['kirat.txt'] });
    expect(await both('ab')).toEqual({ sqlite: [], pg: [] });
  });
});
