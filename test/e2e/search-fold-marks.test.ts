import { describe, expect, it } from 'vitest';
import type { Running } from '../helpers/cloudport.js';
import { bothStores } from '../helpers/two-stores.js';

/**
 * The marks of the generic combining blocks (U+0300-U+036F: the long stroke overlay of "s̶a̶l̶e̶"
 * strikethrough text, Greek psili U+0313, perispomeni U+0342 and ypogegrammeni U+0345 of NFD polytonic
 * Greek) fold away inside their words (shared/search-words.ts): a query copied from the document and
 * the plain word both find it, and both stores answer the same keys.
 */
const strike = (w: string) => [...w].map((c) => c + '\u0336').join('');
const DOCS: Record<string, string> = {
  'strike.txt': `Was ${strike('sale')} now clearance`,
  'greek.txt': 'Ἀλήθεια καὶ ᾠδή'.normalize('NFD'),
};


describe('combining marks of the generic block fold away inside words', () => {
  const cps = bothStores('cp_fold_marks', DOCS);

  const keys = async (cp: Running, query: string) => ((await cp.ok('search_index', { query })).results as { key: string }[]).map((r) => r.key);

  it('SQLite finds strikethrough text with the query copied from the document', async () => {
    expect(await keys(cps.sqlite, strike('sale'))).toEqual(['strike.txt']);
  });

  it('SQLite finds NFD polytonic Greek with the query copied from the document', async () => {
    expect(await keys(cps.sqlite, DOCS['greek.txt']!.split(' ')[0]!)).toEqual(['greek.txt']);
  });

  it('the plain words find them too', async () => {
    expect(await keys(cps.sqlite, 'sale')).toEqual(['strike.txt']);
    expect(await keys(cps.sqlite, 'αληθεια')).toEqual(['greek.txt']);
  });

  it('both stores answer the same keys for these queries', async () => {
    for (const q of ['sale', strike('sale'), 'αληθεια', DOCS['greek.txt']!.split(' ')[0]!]) {
      expect({ q, sqlite: await keys(cps.sqlite, q) }).toEqual({ q, sqlite: await keys(cps.pg, q) });
    }
  });
});
