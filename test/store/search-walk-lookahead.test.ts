/**
 * Walks with cursors across the look one item past the page, where a page often ends exactly at the items
 * resolved (an index filter leaves most chunks to another index; content shared by several indexes gives
 * several items per chunk): same items as the reference, no repeats, totals never below what was shown,
 * the last total exact, a fresh instance's page equal to the walk's slice, and identical repeated calls
 * answering identical totals.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { searchTuning } from '../../src/store/kysely/texts.js';
import { addMany, backends, cleanup, expected, rng, search, walk, withStore, type Doc } from '../helpers/search-store.js';

afterAll(cleanup);
if (process.env.REVIEW_EXACT !== undefined) searchTuning.exactCountChunks = Number(process.env.REVIEW_EXACT);

describe.each(backends)('walks across the look-ahead: $name', (b) => {
  it('random stores and filters', async () => {
    const r = rng(77);
    await withStore(b, async (s, open) => {
      const docs: Doc[] = [];
      const filler = 'lorem ipsum dolor sit amet '.repeat(110);
      const byIndex: Record<string, { key: string; content: string }[]> = { A: [], B: [], C: [] };
      for (let i = 0; i < 260; i++) {
        const long = r.next() < 0.3;
        const w = 1 + r.int(6);
        const content = long
          ? Array.from({ length: 2 + r.int(3) }, (_, k) => `${r.next() < 0.6 ? 'harbour '.repeat(1 + r.int(5)) : ''}${r.next() < 0.3 ? 'quay ' : ''}part ${i} ${k} ${filler}`).join('\n\n')
          : `${'harbour '.repeat(w)}${r.next() < 0.3 ? 'quay ' : ''}doc ${i}`;
        const idxs = r.next() < 0.2 ? ['A', 'C'] : [r.next() < 0.25 ? 'A' : 'B'];
        for (const index of idxs) {
          const key = `${r.pick(['a/', 'b/'])}k${i}.txt`;
          byIndex[index]!.push({ key, content });
          docs.push({ org: 'org_a', index, key, content, dupOf: null });
        }
      }
      for (const [index, files] of Object.entries(byIndex)) if (files.length) await addMany(s, files, { index });
      const failures: string[] = [];
      for (const query of ['harbour', 'harbour quay', 'harbour -quay', 'quay']) {
        for (const over of [{}, { indexes: ['A'] }, { indexes: ['A', 'C'] }, { prefix: 'a/' }, { indexes: ['C'], prefix: 'b/' }]) {
          for (const limit of [1, 2, 3, 5, 7, 10]) {
            const want = expected(docs, 'org_a', query, over);
            const got = await walk(s, 'org_a', query, limit, over);
            const tag = `${query} ${JSON.stringify(over)} limit ${limit}`;
            if (JSON.stringify([...got.keys].sort()) !== JSON.stringify(want)) failures.push(`${tag}: items ${got.keys.length} vs ${want.length}`);
            if (new Set(got.keys).size !== got.keys.length) failures.push(`${tag}: repeats`);
            got.totals.forEach((t, i) => {
              const shown = Math.min(got.keys.length, (i + 1) * limit);
              if (t < shown) failures.push(`${tag}: total ${t} below ${shown} shown`);
            });
            if (got.totals.at(-1) !== want.length) failures.push(`${tag}: last total ${got.totals.at(-1)} != ${want.length}`);
            const a = await s.searchTexts('org_a', search(query, { ...over, limit }));
            const c = await s.searchTexts('org_a', search(query, { ...over, limit }));
            if (a.total !== c.total || a.exact !== c.exact) failures.push(`${tag}: repeated totals ${a.total}/${a.exact} then ${c.total}/${c.exact}`);
            if (want.length > limit) {
              const off = r.int(want.length);
              const fresh = await open();
              try {
                const p = await fresh.searchTexts('org_a', search(query, { ...over, offset: off, limit }));
                const keys = p.hits.map((h) => `${h.index_name}/${h.key}`);
                if (JSON.stringify(keys) !== JSON.stringify(got.keys.slice(off, off + limit))) failures.push(`${tag}: fresh page at ${off} differs`);
              } finally {
                await fresh.close();
              }
            }
          }
        }
      }
      expect(failures).toEqual([]);
    });
  }, 600_000);
});
