import { describe, expect, it } from 'vitest';
import type { Running } from '../helpers/cloudport.js';
import { bothStores } from '../helpers/two-stores.js';

/**
 * Text written with decomposed accents (NFD: "Zu\u0308rich", as macOS and many PDF producers write it)
 * is found by `zurich`, and its snippet marks the word («Zürich») with the offset at (or just before) it,
 * so read_item {offset} reads that place: the combining mark is part of the word, as the stores read it.
 */
const filler = (n: number) => Array.from({ length: n }, (_, i) => `Sentence number ${i} talks about nothing in particular.`).join(' ');
const DOCS: Record<string, string> = {
  'nfd-short.txt': 'The office in Zu\u0308rich opened in the spring.',
  // Long enough for several chunks; the word stands well inside its chunk.
  'nfd-long.txt': `${filler(90)} The office in Zu\u0308rich opened. ${filler(60)}`,
};

describe('snippets of text with decomposed (NFD) accents', () => {
  const cps = bothStores('qa_snip_nfd', DOCS);

  for (const store of ['sqlite', 'pg'] as const) {
    it(`${store}: the snippet marks the NFD word a query found`, async () => {
      const cp: Running = cps[store];
      const r = await cp.ok('search_index', { query: 'zurich' });
      expect(r.results.map((h: { key: string }) => h.key).sort()).toEqual(['nfd-long.txt', 'nfd-short.txt']);
      for (const h of r.results) expect({ key: h.key, snippet: h.snippet }).toEqual({ key: h.key, snippet: expect.stringContaining('«Zu\u0308rich»') });
    });

    it(`${store}: the offset of a hit on an NFD word is where read_item reads that word, within the snippet's reach`, async () => {
      const cp: Running = cps[store];
      const r = await cp.ok('search_index', { query: 'zurich', index: 'docs', prefix: 'nfd-long' });
      const [h] = r.results;
      const read = await cp.ok('read_item', { index: 'docs', key: 'nfd-long.txt', offset: h.offset, length: 400 });
      expect(read.text).toContain('Zu\u0308rich');
    });
  }
});
