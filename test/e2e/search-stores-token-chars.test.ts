import { describe, expect, it } from 'vitest';
import type { Running } from '../helpers/cloudport.js';
import { bothStores } from '../helpers/two-stores.js';

/**
 * The same search gives the same items on SQLite and PostgreSQL for characters Unicode 6.1 (FTS5's
 * unicode61 tables) did not know or kept inside words: a private-use character (a PDF's U+F0B7 bullet
 * straight against a word) separates words, and letters newer than 6.1 (Georgian Mtavruli capitals,
 * Cherokee lower case) fold as they do on PostgreSQL: both stores index the same folded words.
 */
const DOCS: Record<string, string> = {
  'pua.txt': 'see \uF0B7bulletword here and icon\uE000label next',
  'georgian.txt': 'ᲡᲐᲥᲐᲠᲗᲕᲔᲚᲝ title',
  'cherokee.txt': 'ᏣᎳᎩ language',
};

describe('SQLite and PostgreSQL find the same items for words beside private-use or post-6.1 characters', () => {
  const cps = bothStores('qa_token_chars', DOCS);
  const keys = async (cp: Running, query: string) => ((await cp.ok('search_index', { query, limit: 50 })).results as { key: string }[]).map((r) => r.key).sort();
  const both = async (query: string) => ({ sqlite: await keys(cps.sqlite, query), pg: await keys(cps.pg, query) });

  it('a word next to a private-use character (PDF symbol-font bullet) is found on both stores', async () => {
    expect(await both('bulletword')).toEqual({ sqlite: ['pua.txt'], pg: ['pua.txt'] });
    expect(await both('label')).toEqual({ sqlite: ['pua.txt'], pg: ['pua.txt'] });
  });

  it('Georgian Mtavruli capitals are found on both stores, by the word as typed and in lower case', async () => {
    expect(await both('ᲡᲐᲥᲐᲠᲗᲕᲔᲚᲝ')).toEqual({ sqlite: ['georgian.txt'], pg: ['georgian.txt'] });
    expect(await both('საქართველო')).toEqual({ sqlite: ['georgian.txt'], pg: ['georgian.txt'] });
  });

  it('Cherokee text is found on both stores by the word as the document writes it', async () => {
    expect(await both('ᏣᎳᎩ')).toEqual({ sqlite: ['cherokee.txt'], pg: ['cherokee.txt'] });
  });
});
