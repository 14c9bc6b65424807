import { describe, expect, it } from 'vitest';
import { markedWords, parseQuery, type Marked } from '../../src/core/search/query.js';
import { Snippets, snippetOf } from '../../src/core/search/snippet.js';
import { snippetOf as referenceSnippet } from './snippet-reference.js';

// The fast snippets answer exactly what the word-by-word reference does, on fuzzed and edge inputs
// (SNIPPET_FUZZ_SEED=n draws other cases).

const SEED = Number(process.env.SNIPPET_FUZZ_SEED ?? 0) * 1000;

function rng(seed: number) {
  let s = (seed + SEED) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ASCII_WORDS = ['a', 'A', 'ab', 'Ab', 'abc', 'b', 'ba', 'x', 'x1', '1', '10', '0', 'al', 'alpha', 'ALPHA', 'alphabet', 'data', 'dataset', 'big', 'Big', 'e', 'mail', 'k', 'i', 'stanbul', 'z'];
const UNI_WORDS = ['é', 'café', 'CAFÉ', 'Zürich', 'zurich', 'ß', 'ẞ', 'İ', 'İstanbul', '\u212a', 'ﬁ', '²', '①', '𝐀', '𝐚b', 'ø', 'й', 'ά', '日本', '한국', 'a\u0301', 'e\u0301', '\ud800', '\udc00', '😀', 'Ǆ', 'ǅ', 'ſ', 'ﬀ', 'Ⅻ', '٣', 'Ω', 'ω', 'ℌ'];
const SEPS = [' ', ' ', ' ', '  ', '\n', '\n\n', '\t', '-', '.', ', ', '; ', '—', "'", '_', '*', '"', '(', ')', '', '', '\u00a0', '\u2028', '\u3000', '... ', '!!!!', ' - '];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function body(r: () => number, unicode: boolean, n: number): string {
  let s = r() < 0.3 ? pick(r, SEPS) : '';
  for (let i = 0; i < n; i++) {
    s += unicode && r() < 0.25 ? pick(r, UNI_WORDS) : pick(r, ASCII_WORDS);
    s += pick(r, SEPS);
  }
  if (!unicode) s = s.replace(/[^\x00-\x7f]/g, ' ');
  return s;
}

function query(r: () => number, unicode: boolean): string {
  const parts: string[] = [];
  const n = 1 + Math.floor(r() * 5);
  const word = () => (unicode && r() < 0.3 ? pick(r, UNI_WORDS) : pick(r, ASCII_WORDS));
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < 0.35) parts.push(word() + (r() < 0.3 ? '*' : ''));
    else if (x < 0.65) {
      const k = 2 + Math.floor(r() * 3);
      const ws = Array.from({ length: k }, word);
      parts.push(`"${ws.join(pick(r, [' ', '-', '.', ' ']))}"${r() < 0.4 ? '*' : ''}`);
    } else if (x < 0.75) parts.push(`${word()}-${word()}`);
    else if (x < 0.85) parts.push('OR');
    else if (x < 0.9) parts.push('-' + word());
    else parts.push(word() + '*');
  }
  return parts.join(' ');
}

function marked(q: string): Marked | null {
  try {
    return markedWords(parseQuery(q));
  } catch {
    return null;
  }
}

function compare(b: string, m: Marked, ctx: string) {
  const want = referenceSnippet(b, m);
  const got = snippetOf(b, m);
  if (want.text !== got.text || want.offset !== got.offset) {
    throw new Error(`mismatch ${ctx}\nbody=${JSON.stringify(b)}\nmarked=${JSON.stringify({ exact: [...m.exact], prefixes: m.prefixes, phrases: m.phrases })}\nold=${JSON.stringify(want)}\nnew=${JSON.stringify(got)}`);
  }
}

describe('snippets against the word-by-word reference', () => {
  it('same snippets on fuzzed short ASCII and Unicode bodies', () => {
    const r = rng(1);
    for (let i = 0; i < 10_000; i++) {
      const unicode = r() < 0.5;
      const m = marked(query(r, unicode));
      if (!m) continue;
      const b = body(r, unicode, Math.floor(r() * 30));
      compare(b, m, `case ${i}`);
    }
  });

  it('same snippets on fuzzed long bodies (windows, 60-character context, 300-character cut)', () => {
    const r = rng(2);
    for (let i = 0; i < 1_000; i++) {
      const unicode = r() < 0.5;
      const m = marked(query(r, unicode));
      if (!m) continue;
      const b = body(r, unicode, 50 + Math.floor(r() * 700));
      compare(b, m, `case ${i}`);
    }
  });

  it('same snippets with one Snippets reused across bodies (a page)', () => {
    const r = rng(3);
    for (let i = 0; i < 500; i++) {
      const unicode = r() < 0.5;
      const m = marked(query(r, unicode));
      if (!m) continue;
      const s = new Snippets(m);
      for (let j = 0; j < 10; j++) {
        const b = body(r, r() < 0.5, Math.floor(r() * 200));
        const want = referenceSnippet(b, m);
        const got = s.of(b);
        expect(got, JSON.stringify({ b, q: i })).toEqual(want);
      }
    }
  });

  it('same snippets on edge bodies', () => {
    const qs = ['a', 'a*', '"a a"', '"a a"*', '"a b" OR a', '"ab ab ab"', 'x1*', '1', '"big data"*', 'é', 'café*', '"e mail"', 'e-mail*', 'İ', '\u212a', '²', '①', '𝐀', '"a a a a a a a a"', 'ab OR ba OR abc', '"a" "b"'];
    const bodies = ['', ' ', '\n\n\t', '...', 'a', 'A', 'a'.repeat(400), ('a'.repeat(300) + ' ').repeat(3), 'x '.repeat(400), 'ab '.repeat(200), ' '.repeat(100) + 'a', '-'.repeat(500) + 'a', 'a' + ' '.repeat(500) + 'a', 'a\u0301 a', '\ud800a \udc00a', '😀a 😀 a', 'K k \u212a', 'İ i I', 'e-mail E-MAIL e mail', '²', '①a', '𝐀𝐀 𝐀', 'x '.repeat(29) + 'a b ' + 'x '.repeat(200) + 'a', 'word '.repeat(100) + 'a'];
    for (const q of qs) {
      const m = marked(q);
      if (!m) continue;
      for (const b of bodies) compare(b, m, `q=${q}`);
    }
  });

  it('same snippets on dense small-vocabulary bodies and random characters', () => {
    const r = rng(4);
    const vocab = ['a', 'A', 'aa', 'b', 'ab', '1'];
    const dense = (n: number) => Array.from({ length: n }, () => pick(r, vocab) + pick(r, [' ', ' ', '-', '  ', '.', '\n'])).join('');
    const randomChars = (n: number) => {
      let s = '';
      for (let i = 0; i < n; i++) {
        const x = r();
        if (x < 0.6) s += String.fromCharCode(Math.floor(r() * 128));
        else if (x < 0.8) s += pick(r, ['a', 'b', ' ', 'A']);
        else if (x < 0.95) s += String.fromCharCode(Math.floor(r() * 0xffff));
        else s += String.fromCodePoint(0x10000 + Math.floor(r() * 0x20000));
      }
      return s;
    };
    let marks = 0;
    for (let i = 0; i < 5_000; i++) {
      const k = Math.floor(r() * 4);
      const q = Array.from({ length: 1 + k }, () => {
        const n = 1 + Math.floor(r() * 4);
        const ws = Array.from({ length: n }, () => pick(r, vocab)).join(' ');
        return (n > 1 || r() < 0.3 ? `"${ws}"` : ws) + (r() < 0.3 ? '*' : '');
      }).join(r() < 0.5 ? ' OR ' : ' ');
      const m = marked(q);
      if (!m) continue;
      const b = r() < 0.7 ? dense(Math.floor(r() * (r() < 0.2 ? 400 : 40))) : randomChars(Math.floor(r() * 300));
      const old = referenceSnippet(b, m);
      if (old.text.includes('«')) marks++;
      compare(b, m, `case ${i} q=${q}`);
    }
    expect(marks).toBeGreaterThan(1_250);
  });

  it('same snippets with Marked values built directly (words that the parser would give in other combinations)', () => {
    const r = rng(5);
    const pool = ['a', 'aa', 'b', 'ab', '1', 'é', 'k', 'ß', '𝐀', 'i'];
    for (let i = 0; i < 5_000; i++) {
      const m: Marked = { exact: new Set(), prefixes: [], phrases: [] };
      for (let j = Math.floor(r() * 5); j > 0; j--) {
        const x = r();
        if (x < 0.3) m.exact.add(pick(r, pool));
        else if (x < 0.5) m.prefixes.push(pick(r, pool));
        else m.phrases.push({ words: Array.from({ length: 2 + Math.floor(r() * 3) }, () => pick(r, pool)), prefix: r() < 0.4 });
      }
      const uni = r() < 0.4;
      const b = Array.from({ length: Math.floor(r() * 60) }, () => (uni && r() < 0.3 ? pick(r, ['é', 'É', 'K', 'ß', '𝐀', 'İ', 'ﬁ']) : pick(r, ['a', 'A', 'aa', 'b', 'AB', '1'])) + pick(r, [' ', '-', '', ' '])).join('');
      compare(b, m, `case ${i}`);
    }
  });
});

describe('the text\'s own guillemets', () => {
  it('are written as \\u00ab and \\u00bb, so the marks are the only « » of a snippet', () => {
    const m = markedWords(parseQuery('harbour'));
    expect(snippetOf('Il écrit « le port de harbour est fermé.', m).text).toBe('Il écrit \\u00ab le port de «harbour» est fermé.');
    expect(snippetOf('Le rapport « annuel » du port.', markedWords(parseQuery('absent'))).text).toBe('Le rapport \\u00ab annuel \\u00bb du port.');
  });
});
