import { describe, expect, it } from 'vitest';
import type { Running } from '../helpers/cloudport.js';
import { bothStores } from '../helpers/two-stores.js';

/**
 * README "Search": the query language is the same on SQLite and PostgreSQL. The same documents are
 * imported into a SQLite store and a PostgreSQL store, and the same queries find the same keys, also for
 * accents written as combining marks (NFD) and for the Turkish dotted capital İ. (PostgreSQL's own
 * limits, words over 2,047 bytes and positions past 256 per word in a passage, are in the README.)
 */
const DOCS: Record<string, string> = {
  // Decomposed (NFD) accents, as macOS and many PDF producers write them.
  'nfd.txt': 'Office in Zu\u0308rich and Mu\u0308nchen.',
  'nfc.txt': 'Office in Zürich.',
  // Turkish dotted capital I.
  'tr-upper.txt': 'İSTANBUL branch report',
  'tr.txt': 'Visit İstanbul and İzmir',
  // Superscripts, subscripts, vulgar fractions, circled digits.
  'area.txt': 'price per m² and CO₂ emissions',
  'size.txt': 'size 5 m and a co op',
  'half.txt': 'add ½ cup of sugar, step ① first',
  // A word repeated more than 256 times in one passage before the phrase.
  'log.txt': 'status ok\n'.repeat(300) + 'status failed\n',
  // A token longer than 2047 bytes.
  'long.txt': 'token ' + 'q'.repeat(2100) + ' end',
  // A run of 703 Japanese characters (2,109 bytes) between punctuation: one word by the README's rule.
  'cjk-long.txt': '前書き。日本語' + 'の'.repeat(700) + '。終わり',
};


describe('search finds the same keys on SQLite and PostgreSQL', () => {
  const cps = bothStores('cp_fold_stores', DOCS);

  const keys = async (cp: Running, query: string) => ((await cp.ok('search_index', { query, limit: 50 })).results as { key: string }[]).map((r) => r.key).sort();
  const both = async (query: string) => ({ sqlite: await keys(cps.sqlite, query), pg: await keys(cps.pg, query) });

  it('decomposed accents (NFD) inside a word: zurich / Zürich / munchen find the NFD document on PostgreSQL too', async () => {
    expect(await both('zurich')).toEqual({ sqlite: ['nfc.txt', 'nfd.txt'], pg: ['nfc.txt', 'nfd.txt'] });
    expect(await both('München')).toEqual({ sqlite: ['nfd.txt'], pg: ['nfd.txt'] });
  });

  it('Turkish dotted capital İ: istanbul and İstanbul find the same documents on both stores', async () => {
    const lower = await both('istanbul');
    expect(lower.pg).toEqual(lower.sqlite);
    const dotted = await both('İstanbul');
    expect(dotted.pg).toEqual(dotted.sqlite);
    // And a query typed as the document writes it finds it.
    expect(dotted.sqlite).toContain('tr.txt');
  });
});
