import { describe, expect, it } from 'vitest';
import { chunkText } from '../../src/core/search/chunks.js';
import { markedWords, parseQuery, toFts5, toTsquery } from '../../src/core/search/query.js';
import { SNIPPET_MAX, Snippets, snippetOf } from '../../src/core/search/snippet.js';

describe('query language', () => {
  it('compiles words, phrases, prefixes, OR and exclusion for FTS5 and tsquery alike', () => {
    const q = parseQuery('Governing "law of Delaware" contract* indemnity OR warranty -draft -"old version"');
    expect(toFts5(q)).toBe('("governing" AND "law of delaware" AND "contract" * AND ("indemnity" OR "warranty")) NOT ("draft" OR "old version")');
    expect(toTsquery(q)).toBe("'governing' & ('law' <-> 'of' <-> 'delaware') & 'contract':* & ('indemnity' | 'warranty') & !'draft' & !('old' <-> 'version')");
  });

  it('folds case and diacritics, and makes punctuation a separator, so no store syntax gets through', () => {
    expect(toFts5(parseQuery('ZÜRICH café'))).toBe('"zurich" AND "cafe"');
    expect(toFts5(parseQuery('e-mail'))).toBe('"e mail"');
    expect(toFts5(parseQuery(`NEAR("a" b) ^c col:d '); DROP TABLE x; --`))).toBe('"near a" AND "b" AND "c" AND "col d" AND "drop" AND "table" AND "x"');
    expect(toTsquery(parseQuery("it's a 'quote' & | ! <->"))).toBe("('it' <-> 's') & 'a' & 'quote'");
  });

  it('refuses a query with nothing to find, too many terms or too long, on the query field', () => {
    for (const bad of ['-draft', '"" - ( )', '!!!', 'OR', Array.from({ length: 40 }, (_, i) => `w${i}`).join(' '), 'x'.repeat(501)]) {
      expect(() => parseQuery(bad), bad).toThrow(expect.objectContaining({ kind: 'config_invalid', field: 'query' }));
    }
  });

  it('OR binds the terms beside it; a dangling OR is ignored', () => {
    expect(toFts5(parseQuery('a OR b c'))).toBe('("a" OR "b") AND "c"');
    expect(toFts5(parseQuery('OR a OR'))).toBe('"a"');
    expect(toFts5(parseQuery('a OR -b'))).toBe('("a") NOT "b"');
  });
});

describe('chunks', () => {
  it('cover the text exactly, at byte offsets, cut at paragraphs or sentences within 2-4 KB', () => {
    const para = (i: number) => `Paragraph ${i} talks about ünïcödé and 漢字. `.repeat(12);
    const text = Array.from({ length: 40 }, (_, i) => para(i)).join('\n\n');
    const chunks = chunkText(text);
    expect(chunks.map((c) => c.body).join('')).toBe(text);
    let off = 0;
    for (const c of chunks) {
      expect(c.off).toBe(off);
      off += Buffer.byteLength(c.body);
    }
    for (const c of chunks.slice(0, -1)) {
      expect(c.body.length).toBeGreaterThanOrEqual(2000);
      expect(c.body.length).toBeLessThanOrEqual(4000);
      expect(c.body).toMatch(/(\n\s*\n|[.!?]\s+)$/);
    }
  });

  it('cuts a text without any boundary between characters, never inside a surrogate pair', () => {
    const text = '😀'.repeat(5000);
    const chunks = chunkText(text);
    expect(chunks.map((c) => c.body).join('')).toBe(text);
    for (const c of chunks) expect(c.body).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
  });
});

describe('snippets', () => {
  it('marks the matched words in the window that holds most of them, within the size limit', () => {
    const body = `${'Intro words that do not matter. '.repeat(20)}The indemnification clause survives termination of this agreement. ${'Tail text. '.repeat(40)}`;
    const s = snippetOf(body, markedWords(parseQuery('indemnification clause')));
    expect(s.text).toContain('«indemnification» «clause»');
    expect(s.text.length).toBeLessThanOrEqual(SNIPPET_MAX);
    expect(s.text.startsWith('…')).toBe(true);
    expect(body.slice(Buffer.from(body).subarray(0, s.offset).toString().length)).toContain('indemnification');
    expect(snippetOf('Zürich office', markedWords(parseQuery('zurich'))).text).toBe('«Zürich» office');
    expect(snippetOf('Governing law: Delaware.\n\n', markedWords(parseQuery('delaware'))).text).toBe('Governing law: «Delaware».');
    expect(snippetOf('contracts and contractors', markedWords(parseQuery('contract*'))).text).toBe('«contracts» and «contractors»');
    // A phrase is marked only where its words stand together, so the window is the phrase's place.
    const paragraphs = Array.from({ length: 60 }, (_, i) => `Paragraph ${i}: some words here.`).join(' ');
    const p37 = snippetOf(paragraphs, markedWords(parseQuery('"Paragraph 37"')));
    expect(p37.text).toContain('«Paragraph» «37»');
    expect(p37.text.match(/«/g)).toHaveLength(2);
  });

  // ASCII bodies are matched by regular expressions, other bodies word by word: both mark whole words only.
  it('marks whole words alike in ASCII and other bodies, overlapping phrases and prefix phrases included', () => {
    const mark = (body: string, q: string) => snippetOf(body, markedWords(parseQuery(q))).text;
    expect(mark('al alpha xal al9 9al Al.', 'al')).toBe('«al» alpha xal al9 9al «Al».');
    expect(mark('al alpha alphabet', 'al OR alpha')).toBe('«al» «alpha» alphabet');
    expect(mark('al alpha alphabet', 'alpha* OR al')).toBe('«al» «alpha» «alphabet»');
    expect(mark('a a a b a', '"a a"')).toBe('«a» «a» «a» b a');
    expect(mark('big data, big-dataset; big datum', '"big data"*')).toBe('«big» «data», «big»-«dataset»; big datum');
    expect(mark('Big café, big cafeteria — big CAFÉ', '"big cafe"')).toBe('«Big» «café», big cafeteria — «big» «CAFÉ»');
    expect(mark('nothing here', 'absent')).toBe('nothing here');
    expect(mark('  ', 'absent')).toBe('');
    // One Snippets serves a page: its expressions hold no state from one body to the next.
    const page = new Snippets(markedWords(parseQuery('"x y" OR z')));
    expect(page.of('x y z').text).toBe('«x» «y» «z»');
    expect(page.of('z x y').text).toBe('«z» «x» «y»');
    expect(page.of('y x').text).toBe('y x');
  });
});
