import { WORD_TAIL, foldWords } from '../../shared/search-words.js';
import type { Marked, Term } from './query.js';

/** Characters of a snippet, marks and ellipses included. */
export const SNIPPET_MAX = 300;
const OPEN = '«';
const CLOSE = '»';
/** Room left for marks and ellipses when choosing the window. */
const BUDGET = SNIPPET_MAX - 40;

const ASCII = /^[\x00-\x7f]*$/;
/** A word as the stores cut it: a letter or digit, then letters, digits, marks and the invisible joiners folding removes. */
const WORD = new RegExp(`[\\p{L}\\p{N}][${WORD_TAIL}]*`, 'gu');
const ASCII_FOLDED = /^[a-z0-9]+$/;

/** A word's place in a body (UTF-16 offsets, end excluded). */
interface Span {
  start: number;
  end: number;
}

/**
 * A body's marked words, in order, and its words (runs of letters and digits). The snippet reads the
 * words only around the window it keeps, so an ASCII body (most of them) is never tokenized whole:
 * its marked words are found by regular expressions over its lower-case copy, and its words by
 * character code where the snippet needs them. Tokenizing every word of a page's ten chunks cost more
 * than the rest of a cached search.
 */
interface Body {
  hits: Span[];
  /** The first word that starts at or after `from`, or null. */
  wordAt(from: number): Span | null;
}

const isAsciiWordChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

function asciiWordAt(s: string, from: number): Span | null {
  let i = from;
  // Inside a word: that word started before `from`.
  if (i > 0 && isAsciiWordChar(s.charCodeAt(i - 1))) while (i < s.length && isAsciiWordChar(s.charCodeAt(i))) i++;
  while (i < s.length && !isAsciiWordChar(s.charCodeAt(i))) i++;
  if (i >= s.length) return null;
  const start = i;
  while (i < s.length && isAsciiWordChar(s.charCodeAt(i))) i++;
  return { start, end: i };
}

/**
 * Marked words as regular expressions over an ASCII body in lower case: a word is a whole run of
 * [a-z0-9], as the tokenizer cuts it. Words with other characters cannot occur in such a body.
 */
class AsciiMatchers {
  readonly words: RegExp | null;
  /** One per phrase; a phrase's words are consecutive runs, so only non-word characters stand between them. */
  readonly phrases: RegExp[];

  constructor(marked: Marked) {
    const alts = [...marked.exact].filter((w) => ASCII_FOLDED.test(w));
    for (const p of marked.prefixes) if (ASCII_FOLDED.test(p)) alts.push(`${p}[a-z0-9]*`);
    this.words = alts.length ? new RegExp(`(?<![a-z0-9])(?:${alts.join('|')})(?![a-z0-9])`, 'g') : null;
    this.phrases = marked.phrases.filter((p) => p.words.every((w) => ASCII_FOLDED.test(w))).map((p) => new RegExp(`(?<![a-z0-9])${phraseSource(p)}(?![a-z0-9])`, 'g'));
  }

  body(body: string): Body {
    const lower = body.toLowerCase();
    const hits: Span[] = [];
    if (this.words) {
      this.words.lastIndex = 0;
      for (let m = this.words.exec(lower); m; m = this.words.exec(lower)) hits.push({ start: m.index, end: m.index + m[0].length });
    }
    for (const re of this.phrases) {
      // Phrases may overlap ("a a" in "a a a"): each match's next try starts one character on, and
      // only the words past the previous match's end are added (else a phrase of k words over a run
      // of n would add n × k spans).
      re.lastIndex = 0;
      let reach = 0;
      for (let m = re.exec(lower); m; re.lastIndex = m.index + 1, m = re.exec(lower)) {
        const end = m.index + m[0].length;
        for (let w = asciiWordAt(lower, Math.max(m.index, reach)); w && w.start < end; w = asciiWordAt(lower, w.end)) hits.push(w);
        reach = Math.max(reach, end);
      }
    }
    return { hits: this.phrases.length ? ordered(hits) : hits, wordAt: (from) => asciiWordAt(lower, from) };
  }
}

function phraseSource(p: Term): string {
  return p.words.map((w, k) => (p.prefix && k === p.words.length - 1 ? `${w}[a-z0-9]*` : w)).join('[^a-z0-9]+');
}

/** Spans by start, each once. */
function ordered(spans: Span[]): Span[] {
  spans.sort((a, b) => a.start - b.start);
  return spans.filter((s, i) => i === 0 || s.start !== spans[i - 1]!.start);
}

/** One word (letters and digits only) as foldWords folds it; ASCII, most words, needs only lower case. */
function foldWord(word: string): string {
  const lower = word.toLowerCase();
  return /^[a-z0-9]*$/.test(lower) ? lower : foldWords(word).join('');
}

/** Any other body: every word folded as the stores fold it, and compared. */
function unicodeBody(body: string, marked: Marked): Body {
  const words: Span[] = [];
  const folded: string[] = [];
  for (const m of body.matchAll(WORD)) {
    words.push({ start: m.index, end: m.index + m[0].length });
    folded.push(foldWord(m[0]));
  }
  const n = words.length;
  const hit = new Uint8Array(n);
  for (let k = 0; k < n; k++) if (marked.exact.has(folded[k]!) || marked.prefixes.some((p) => folded[k]!.startsWith(p))) hit[k] = 1;
  for (const p of marked.phrases) {
    const len = p.words.length;
    const last = len - 1;
    for (let i = 0; i + len <= n; i++) {
      let k = 0;
      while (k < len && (p.prefix && k === last ? folded[i + k]!.startsWith(p.words[k]!) : folded[i + k] === p.words[k])) k++;
      if (k === len) hit.fill(1, i, i + len);
    }
  }
  const wordAt = (from: number): Span | null => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (words[mid]!.start < from) lo = mid + 1;
      else hi = mid;
    }
    return words[lo] ?? null;
  };
  return { hits: words.filter((_, k) => hit[k]), wordAt };
}

/**
 * Snippets for one query's marked words (the matchers are built once per search, not per result):
 * the words around a hit, with the matched words marked «like this». The window is the one of the
 * chunk that holds the most marked words (the first such window on a tie), cut at word boundaries,
 * whitespace collapsed, at most SNIPPET_MAX characters. Built here rather than by each store so that
 * both answer the same snippet, and `offset` (bytes) says where read_item reads that place.
 */
export class Snippets {
  private ascii: AsciiMatchers | null = null;

  constructor(private readonly marked: Marked) {}

  of(body: string): { text: string; offset: number } {
    const b = ASCII.test(body) ? (this.ascii ??= new AsciiMatchers(this.marked)).body(body) : unicodeBody(body, this.marked);
    const { hits } = b;
    // A hit's window holds the hits that end within BUDGET of its start.
    let best = -1;
    let bestHits = -1;
    for (let i = 0; i < hits.length; i++) {
      let count = 0;
      for (let j = i; j < hits.length && hits[j]!.end - hits[i]!.start <= BUDGET; j++) count++;
      if (count > bestHits) {
        bestHits = count;
        best = i;
      }
    }
    const anchor = best >= 0 ? hits[best]!.start : b.wordAt(0)?.start;
    if (anchor === undefined) return { text: ownMarks(body.slice(0, BUDGET).replace(/\s+/g, ' ').trim()), offset: 0 };
    // Some words of context before the hit: the first word that starts less than 60 characters before it.
    const start = b.wordAt(Math.max(0, anchor - 59))!.start;
    let out = '';
    let cursor = start;
    let h = 0;
    for (let w = b.wordAt(start); w; w = b.wordAt(w.end)) {
      while (h < hits.length && hits[h]!.start < w.start) h++;
      const word = ownMarks(body.slice(w.start, w.end));
      const gap = ownMarks(body.slice(cursor, w.start));
      const piece = (gap === ' ' ? gap : gap.replace(/\s+/g, ' ')) + (hits[h]?.start === w.start ? OPEN + word + CLOSE : word);
      if (out.length + piece.length > SNIPPET_MAX - 2) break;
      out += piece;
      cursor = w.end;
    }
    // Punctuation after the last word belongs to it; an ellipsis only says that words follow.
    const rest = body.slice(cursor);
    const tail = /^[^\p{L}\p{N}\s]{0,3}/u.exec(rest)![0];
    if (out.length + ownMarks(tail).length <= SNIPPET_MAX - 2) {
      out += ownMarks(tail);
      cursor += tail.length;
    }
    const more = /[\p{L}\p{N}]/u.test(body.slice(cursor));
    const text = (start > 0 ? '…' : '') + out.trim() + (more ? '…' : '');
    return { text: text.slice(0, SNIPPET_MAX), offset: Buffer.byteLength(body.slice(0, start), 'utf8') };
  }
}

/**
 * The text's own « and » written as \u00ab and \u00bb (as control characters are escaped), so the
 * snippet's marks are the only guillemets in it: French quotes would otherwise read as marks.
 */
const ownMarks = (s: string) => (s.includes(OPEN) || s.includes(CLOSE) ? s.replace(/[«»]/g, (c) => (c === OPEN ? '\\u00ab' : '\\u00bb')) : s);

/** One snippet (tests and single uses; a page of results shares one Snippets). */
export function snippetOf(body: string, marked: Marked): { text: string; offset: number } {
  return new Snippets(marked).of(body);
}
