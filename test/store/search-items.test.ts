/**
 * Search's item semantics (every clause in some chunk, no excluded term in any chunk)
 * against a word-by-word reference, on both stores, through a store that first holds texts of one
 * chunk only, then texts of many chunks, then other organizations' items: every page walked with
 * offsets (no duplicates, nothing missing), totals compared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchTuning } from '../../src/store/kysely/texts.js';
import { add, backends, cleanup, expected, holdsAWord, rng, walk, search, withStore, type Doc } from '../helpers/search-store.js';

afterAll(cleanup);
const LISTED = searchTuning.passListed;

const VOCAB = ['alpha', 'alps', 'beta', 'gamma', 'gammon', 'delta', 'omega'];
const FILLER = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do'];

function paragraph(r: ReturnType<typeof rng>, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(r.pick(FILLER));
  for (const v of VOCAB) if (r.next() < 0.25) out.splice(r.int(out.length), 0, v);
  if (r.next() < 0.2) out.splice(r.int(out.length), 0, 'alpha', 'beta');
  if (r.next() < 0.2) out.splice(r.int(out.length), 0, 'beta', 'gammon');
  return out.join(' ') + '.';
}

function docText(r: ReturnType<typeof rng>, long: boolean, paragraphs = 5): string {
  if (!long) return paragraph(r, 8 + r.int(10));
  const n = 2 + r.int(paragraphs);
  return Array.from({ length: n }, () => paragraph(r, 380)).join('\n\n');
}

function term(r: ReturnType<typeof rng>): string {
  const k = r.int(10);
  if (k < 5) return r.pick(VOCAB);
  if (k < 7) return r.pick(['alp*', 'gam*', 'be*', 'omeg*']);
  return r.pick(['"alpha beta"', '"beta gam*"', '"gamma delta"']);
}

function query(r: ReturnType<typeof rng>): string {
  const parts: string[] = [];
  const clauses = 1 + r.int(3);
  for (let i = 0; i < clauses; i++) parts.push(r.next() < 0.3 ? `${term(r)} OR ${term(r)}` : term(r));
  const none = r.int(3);
  for (let i = 0; i < none; i++) parts.push(`-${term(r)}`);
  return parts.join(' ');
}

const SIZES = [
  { name: 'small', shorts: 30, longs: 12, paragraphs: 5, queries: [30, 60, 60] },
  // The contents that pass the item test as a subquery in each statement (as when more pass than are listed).
  { name: 'small, passing contents not listed', shorts: 30, longs: 12, paragraphs: 5, queries: [15, 30, 30], passListed: 0 },
  // Enough matching chunks that pages go past the first fetch of 64 (pending chunks, K doubling).
  { name: 'deep', shorts: 120, longs: 50, paragraphs: 14, queries: [15, 20, 20] },
];

describe.each(backends.flatMap((b) => SIZES.map((z) => ({ ...b, z, backend: b }))))('search items against the reference: $name $z.name', ({ backend: b, z }) => {
  beforeAll(() => {
    if (z.passListed !== undefined) searchTuning.passListed = z.passListed;
  });
  afterAll(() => {
    searchTuning.passListed = LISTED;
  });

  it('multi-chunk items, exclusions, OR groups, phrases, prefixes, duplicates, filters: same items and totals as the reference, every page', async () => {
    const r = rng(Number(process.env.REVIEW_SEED ?? 20261206));
    await withStore(b, async (s, open) => {
      const docs: Doc[] = [];
      const originals = new Map<string, string>();
      const put = async (key: string, content: string, long: boolean, org = 'org_a', index = r.next() < 0.7 ? 'idx' : 'other') => {
        void long;
        await add(s, key, content, { org, index });
        const k = `${org}|${index}|${content}`;
        const dupOf = originals.get(k) ?? null;
        if (dupOf === null) originals.set(k, key);
        docs.push({ org, index, key, content, dupOf });
      };
      const check = async (phase: string, queries: number, multiOrg: boolean) => {
        const failures: string[] = [];
        const stats: number[] = [];
        for (let i = 0; i < queries; i++) {
          const q = query(r);
          const over: { prefix?: string; indexes?: string[] } = {};
          if (r.next() < 0.3) over.prefix = r.pick(['a/', 'b/', 'c/x/', 'c/']);
          if (r.next() < 0.2) over.indexes = [r.pick(['idx', 'other'])];
          const want = expected(docs, 'org_a', q, over);
          const limit = r.pick([1, 2, 3, 5, 10]);
          const got = await walk(s, 'org_a', q, limit, over);
          const dupes = got.keys.filter((k, j) => got.keys.indexOf(k) !== j);
          const last = got.totals[got.totals.length - 1];
          const first = await s.searchTexts('org_a', search(q, { ...over, offset: 0, limit: 1 }));
          const problems: string[] = [];
          if (JSON.stringify([...got.keys].sort()) !== JSON.stringify(want)) problems.push(`items ${JSON.stringify([...got.keys].sort())} != ${JSON.stringify(want)}`);
          if (dupes.length) problems.push(`duplicates ${JSON.stringify(dupes)}`);
          if (last !== want.length) problems.push(`last total ${last} != ${want.length}`);
          if (multiOrg && first.total !== want.length) problems.push(`counted total ${first.total} != ${want.length}`);
          stats.push(want.length);
          const wordless = got.bodies.filter((body) => !holdsAWord(body, q));
          if (wordless.length) problems.push(`${wordless.length} hit(s) placed on a chunk without a query word`);
          // A page computed afresh (another instance: nothing kept) is the walk's slice.
          if (want.length > 1) {
            const off = r.int(want.length);
            const fresh = await open();
            try {
              const page = await fresh.searchTexts('org_a', search(q, { ...over, offset: off, limit }));
              const keys = page.hits.map((h) => `${h.index_name}/${h.key}`);
              if (JSON.stringify(keys) !== JSON.stringify(got.keys.slice(off, off + limit))) problems.push(`fresh page at ${off}: ${JSON.stringify(keys)} != walk ${JSON.stringify(got.keys.slice(off, off + limit))}`);
            } finally {
              await fresh.close();
            }
          }
          if (problems.length) failures.push(`${phase} ${JSON.stringify(q)} ${JSON.stringify(over)} limit ${limit}: ${problems.join('; ')}`);
        }
        if (process.env.REVIEW_STATS) console.log(phase, 'nonempty', stats.filter((n) => n > 0).length, 'of', stats.length, 'max', Math.max(...stats));
        expect(failures).toEqual([]);
      };
      const prefixes = ['a/', 'b/', 'c/x/', 'c/y/'];
      // Phase 1: texts of one chunk only (some duplicated under other prefixes).
      const shorts: string[] = [];
      for (let i = 0; i < z.shorts; i++) {
        const content = docText(r, false);
        shorts.push(content);
        await put(`${r.pick(prefixes)}s${i}.txt`, content, false);
      }
      for (let i = 0; i < 6; i++) await put(`${r.pick(prefixes)}dup${i}.txt`, r.pick(shorts), false, 'org_a', 'idx');
      await check('one-chunk', z.queries[0]!, false);
      // Phase 2: texts of many chunks arrive (same store, kept rankings in place).
      const longs: string[] = [];
      for (let i = 0; i < z.longs; i++) {
        const content = docText(r, true, z.paragraphs);
        longs.push(content);
        await put(`${r.pick(prefixes)}l${i}.txt`, content, true);
      }
      for (let i = 0; i < 4; i++) await put(`${r.pick(prefixes)}ldup${i}.txt`, r.pick(longs), true, 'org_a', 'idx');
      await check('many-chunk', z.queries[1]!, false);
      // Phase 3: another organization's items: totals are counted.
      for (let i = 0; i < 6; i++) await put(`b${i}.txt`, r.pick([...shorts, ...longs]), false, 'org_b', 'idx');
      await check('multi-org', z.queries[2]!, true);
    });
  }, 300_000);
});

describe.each(backends)('kept rankings across texts of several chunks: $name', (b) => {
  it('a ranking kept while every text was one chunk is not reused once another instance adds a text of several chunks, nor after it is deleted', async () => {
    await withStore(b, async (s1, open) => {
      const s2 = await open();
      try {
        await add(s1, 'short.txt', 'indemnification and delaware');
        await add(s1, 'one.txt', 'indemnification only');
        const find = async () => (await s1.searchTexts('org_a', search('indemnification delaware'))).hits.map((h) => h.key).sort();
        const findNot = async () => (await s1.searchTexts('org_a', search('indemnification -delaware'))).hits.map((h) => h.key).sort();
        expect(await find()).toEqual(['short.txt']);
        expect(await findNot()).toEqual(['one.txt']);
        const long = `indemnification first.\n\n${'Filler sentence of the body text. '.repeat(300)}\n\nDelaware last.`;
        await add(s2, 'long.txt', long);
        let seen: string[] = [];
        for (let i = 0; i < 20 && seen.length < 2; i++) seen = await find();
        expect(seen).toEqual(['long.txt', 'short.txt']);
        expect(await findNot()).toEqual(['one.txt']);
        await s2.deleteItem('org_a', 'idx', 'long.txt');
        expect(await find()).toEqual(['short.txt']);
      } finally {
        await s2.close();
      }
    });
  });
});
