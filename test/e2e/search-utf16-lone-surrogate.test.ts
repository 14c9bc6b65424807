import { describe, expect, it } from 'vitest';
import { bothStores } from '../helpers/two-stores.js';

/**
 * Plain text in UTF-16 (with a byte order mark) that holds an unpaired surrogate (a damaged export) reads
 * the same on every store: the unpaired code unit is one U+FFFD, as the README says of bytes that do not
 * decode, and the text's byte count, the offsets search_index gives and what read_item reads at them
 * agree: a search for the last word points at it, and read_item {offset} reads from that word.
 */
const u16 = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
const DOCS: Record<string, any> = {
  'lone.txt': u16('alpha \ud800 beta gamma omega'),
  'long.txt': u16('hello \ud800 world ' + 'filler '.repeat(300) + 'lastword'),
};

describe('UTF-16 text with an unpaired surrogate reads alike on SQLite and PostgreSQL', () => {
  const cps = bothStores('qa_tsv_u16', DOCS);
  for (const store of ['sqlite', 'pg'] as const) {
    it(`${store}: the unpaired surrogate is one U+FFFD`, async () => {
      const r = await cps[store].ok('read_item', { index: 'docs', key: 'lone.txt' });
      expect(r.text).toBe('alpha \ufffd beta gamma omega');
      expect(r.text_bytes).toBe(Buffer.byteLength(r.text));
    });
    it(`${store}: a search offset reads the word it found`, async () => {
      const hit = ((await cps[store].ok('search_index', { query: 'lastword' })).results as { key: string; offset: number; snippet: string }[])[0]!;
      expect(hit.key).toBe('long.txt');
      const r = await cps[store].ok('read_item', { index: 'docs', key: 'long.txt', offset: hit.offset, length: 200 });
      expect(r.text).toMatch(/lastword$/);
      expect(hit.snippet).not.toContain('\ufffd\ufffd');
      const whole = await cps[store].ok('read_item', { index: 'docs', key: 'long.txt' });
      expect(whole.text.endsWith('lastword')).toBe(true);
      expect(whole.text_bytes).toBe(Buffer.byteLength(whole.text));
    });
  }
});
