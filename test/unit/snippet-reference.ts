/**
 * The straightforward snippet: every word of the body tokenized, folded and compared, then the window
 * chosen. src/core/search/snippet.ts finds the marked words by regular expressions and reads words only
 * around the window; it must answer exactly what this does (test/unit/snippet-fuzz.test.ts).
 */
import { WORD_TAIL, foldWords } from '../../src/shared/search-words.js';
import type { Marked } from '../../src/core/search/query.js';

/** Characters of a snippet, marks and ellipses included. */
export const SNIPPET_MAX = 300;
const OPEN = '«';
const CLOSE = '»';

const ASCII = /^[\x00-\x7f]*$/;
/** A letter or digit, then letters, digits, marks and the invisible joiners the stores remove. */
const WORD = new RegExp(`[\\p{L}\\p{N}][${WORD_TAIL}]*`, 'gu');
const ASCII_WORD = /[A-Za-z0-9]+/g;

/** One word (letters and digits only) as foldWords folds it; ASCII, most words, needs only lower case. */
function foldWord(word: string): string {
  const lower = word.toLowerCase();
  return /^[a-z0-9]*$/.test(lower) ? lower : foldWords(word).join('');
}

/**
 * The words around a hit, with the matched words marked «like this»: the window of the chunk that
 * holds the most marked words (the first such window on a tie), cut at word boundaries, whitespace
 * collapsed, at most SNIPPET_MAX characters. Built here rather than by each store so that both
 * answer the same snippet, and `offset` (bytes) says where read_item reads that place.
 */
export function snippetOf(body: string, marked: Marked): { text: string; offset: number } {
  // An ASCII body folds by lower case alone, once for the whole body.
  const lower = ASCII.test(body) ? body.toLowerCase() : null;
  const words: { start: number; end: number; folded: string; hit: boolean }[] = [];
  for (const m of body.matchAll(lower === null ? WORD : ASCII_WORD)) {
    const end = m.index + m[0].length;
    const folded = lower === null ? foldWord(m[0]) : lower.slice(m.index, end);
    const hit = marked.exact.has(folded) || marked.prefixes.some((p) => folded.startsWith(p));
    words.push({ start: m.index, end, folded, hit });
  }
  for (const p of marked.phrases) {
    const n = p.words.length;
    for (let i = 0; i + n <= words.length; i++) {
      const at = (k: number) => (p.prefix && k === n - 1 ? words[i + k]!.folded.startsWith(p.words[k]!) : words[i + k]!.folded === p.words[k]);
      let all = true;
      for (let k = 0; k < n && all; k++) all = at(k);
      if (all) for (let k = 0; k < n; k++) words[i + k]!.hit = true;
    }
  }
  const budget = SNIPPET_MAX - 40; // room for marks and ellipses
  // A chunk holds a few hundred words: trying each hit as the window's start is cheap.
  let best = 0;
  let bestHits = -1;
  for (let i = 0; i < words.length; i++) {
    if (!words[i]!.hit) continue;
    let hits = 0;
    for (let j = i; j < words.length && words[j]!.end - words[i]!.start <= budget; j++) if (words[j]!.hit) hits++;
    if (hits > bestHits) {
      bestHits = hits;
      best = i;
    }
  }
  let first = best;
  while (first > 0 && words[best]!.start - words[first - 1]!.start < 60) first--;
  // The text's own guillemets are written as escapes, so the marks are the only ones.
  const own = (s: string) => s.replaceAll('«', '\\u00ab').replaceAll('»', '\\u00bb');
  if (!words.length) return { text: own(body.slice(0, budget).replace(/\s+/g, ' ').trim()), offset: 0 };
  const start = words[first]!.start;
  let out = '';
  let cursor = start;
  for (let k = first; k < words.length; k++) {
    const w = words[k]!;
    const piece = own(body.slice(cursor, w.start)).replace(/\s+/g, ' ') + (w.hit ? OPEN + own(body.slice(w.start, w.end)) + CLOSE : own(body.slice(w.start, w.end)));
    if (out.length + piece.length > SNIPPET_MAX - 2) break;
    out += piece;
    cursor = w.end;
  }
  // Punctuation after the last word belongs to it; an ellipsis only says that words follow.
  const rest = body.slice(cursor);
  const tail = /^[^\p{L}\p{N}\s]{0,3}/u.exec(rest)![0];
  if (out.length + own(tail).length <= SNIPPET_MAX - 2) {
    out += own(tail);
    cursor += tail.length;
  }
  const more = /[\p{L}\p{N}]/u.test(body.slice(cursor));
  const text = (start > 0 ? '…' : '') + out.trim() + (more ? '…' : '');
  return { text: text.slice(0, SNIPPET_MAX), offset: Buffer.byteLength(body.slice(0, start), 'utf8') };
}
