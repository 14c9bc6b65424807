import picomatch from 'picomatch';

/**
 * Glob matching in time linear in the key for each piece of the pattern, for patterns with several
 * wildcards. picomatch turns `*` into a lazy regex quantifier, so a pattern such as `*a*a*a*b` against a
 * long key that almost matches backtracks through every way to place its stars (the key's length to the
 * power of their number: minutes for a 1,000-character key), on the main thread, where no time budget
 * can stop it. Here a path segment of the pattern is pieces of fixed length between stars, and a group
 * of segments between `**` segments is segments of fixed number: a piece (a group) found at its leftmost
 * place never has to move again, so each is searched once (docs/decisions/glob-matching.md).
 *
 * Each single-character token (a literal, `?`, a bracket expression) is tested with picomatch's own
 * regex for that token, and braces are expanded to the alternatives picomatch reads them as, so the
 * answers are picomatch's (a fuzz test compares them). A pattern with at most one wildcard cannot
 * backtrack badly and stays with picomatch; one with several wildcards and a construct this does not
 * cover (a brace range, a brace alternative that is empty or holds "/", more than MAX_ALTERNATIVES
 * alternatives, a bracket expression that holds "/") is refused.
 */

/** Alternatives braces may expand to. */
const MAX_ALTERNATIVES = 64;

export interface GlobOptions {
  nocase?: boolean;
}

type Token = { star: true; empty?: boolean } | { star: false; test: (c: string) => boolean; lit?: string };

/** A segment of three stars or more, after normalizeStars (a character no pattern may hold). */
const EMPTY_STAR = '\uF8FF';
type Segment = { globstar: true } | { globstar: false; tokens: Token[] };

/** A pattern this matcher does not take (the caller refuses it, or leaves it to picomatch). */
export class GlobUnsupported extends Error {}

/** Unescaped wildcards (star runs and `**`) outside bracket expressions. */
export function wildcardCount(pattern: string): number {
  let n = 0;
  for (let i = 0; i < pattern.length; i++) {
    const end = quotedEnd(pattern, i);
    if (end > i) i = end;
    else if (pattern[i] === '*') {
      n++;
      while (pattern[i + 1] === '*') i++;
    }
  }
  return n;
}

/** The index of the "]" that closes the bracket expression opening at `i`, or -1. */
function bracketEnd(p: string, i: number): number {
  let j = i + 1;
  if (p[j] === '!' || p[j] === '^') j++;
  if (p[j] === ']') j++;
  for (; j < p.length; j++) {
    if (p[j] === '\\') j++;
    else if (p[j] === '[' && p[j + 1] === ':') {
      const close = p.indexOf(':]', j + 2);
      if (close < 0) return -1;
      j = close + 1;
    } else if (p[j] === ']') return j;
  }
  return -1;
}

/**
 * The index of the last character of the quoted text starting at `i`: an escape (`\\x`) or a closed
 * bracket expression, which every scan of a pattern passes over whole; `i` itself for any other character.
 */
function quotedEnd(p: string, i: number): number {
  if (p[i] === '\\') return i + 1;
  if (p[i] === '[') return Math.max(i, bracketEnd(p, i));
  return i;
}

/**
 * Star runs as picomatch reads them before braces: exactly `**` as a whole segment of the pattern as
 * written is a globstar (`{a,}**` is `{a,}*`, `***` a star), so an alternative cannot make one.
 */
function normalizeStars(p: string): string {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const ch = p[i]!;
    const end = quotedEnd(p, i);
    if (end > i) {
      out += p.slice(i, end + 1);
      i = end;
    } else if (ch === '*') {
      let j = i;
      while (p[j + 1] === '*') j++;
      const segment = (i === 0 || p[i - 1] === '/') && (j === p.length - 1 || p[j + 1] === '/');
      // Three stars or more as a segment are a star that also matches an empty segment (picomatch's reading).
      out += segment && j === i + 1 ? '**' : segment && j > i + 1 ? EMPTY_STAR : '*';
      i = j;
    } else out += ch;
  }
  return out;
}

/** The alternatives of the pattern's braces, as picomatch reads them (`{a}` is literal). */
export function expandBraces(p: string): string[] {
  for (let i = 0; i < p.length; i++) {
    const end = quotedEnd(p, i);
    if (end > i) {
      i = end;
      continue;
    }
    if (p[i] !== '{') continue;
    // The matching "}" and the top-level commas inside.
    let depth = 0;
    const commas: number[] = [];
    let close = -1;
    for (let j = i; j < p.length; j++) {
      const c = p[j]!;
      if (c === '\\') j++;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        close = j;
        break;
      } else if (c === ',' && depth === 1) commas.push(j);
    }
    if (close < 0) return [p]; // unclosed: picomatch refuses it first
    const inner = p.slice(i + 1, close);
    if (!commas.length) {
      if (inner.includes('..')) throw new GlobUnsupported('a brace range ({a..c})');
      // A single item is literal text, braces included; what follows may still hold braces.
      return expandBraces(p.slice(close + 1)).map((rest) => p.slice(0, close + 1) + rest);
    }
    const parts: string[] = [];
    let from = i + 1;
    for (const c of [...commas, close]) {
      parts.push(p.slice(from, c));
      from = c + 1;
    }
    // picomatch reads braces as a regex alternation, so what stands around an empty alternative or one
    // that holds "/" is read as written (a star before it stays a star of that segment); expanded, such
    // alternatives would change segments.
    if (parts.some((part) => part === '' || part.includes('/'))) throw new GlobUnsupported('a brace alternative that is empty or holds "/"');
    const out: string[] = [];
    for (const part of parts) {
      for (const alt of expandBraces(p.slice(0, i) + part + p.slice(close + 1))) {
        out.push(alt);
        if (out.length > MAX_ALTERNATIVES) throw new GlobUnsupported(`braces that expand to more than ${MAX_ALTERNATIVES} alternatives`);
      }
    }
    return out;
  }
  return [p];
}

function tokenTest(source: string, opts: GlobOptions): (c: string) => boolean {
  const re = picomatch.makeRe(source, { dot: true, strictBrackets: true, nocase: !!opts.nocase });
  return (c) => re.test(c);
}

/** A path segment's tokens: stars, and one-character tests. */
function tokenize(seg: string, opts: GlobOptions): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < seg.length; i++) {
    const ch = seg[i]!;
    if (ch === '*' || ch === EMPTY_STAR) {
      if (!out.length || !out[out.length - 1]!.star) out.push({ star: true, empty: ch === EMPTY_STAR });
    } else if (ch === '?') out.push({ star: false, test: (c) => c !== '/' });
    else if (ch === '[') {
      const end = bracketEnd(seg, i);
      if (end < 0) out.push({ star: false, test: tokenTest('\\[', opts) });
      else {
        out.push({ star: false, test: tokenTest(seg.slice(i, end + 1), opts) });
        i = end;
      }
    } else {
      const lit = ch === '\\' ? (seg[++i] ?? '\\') : ch;
      const folded = opts.nocase ? lit.toLowerCase() : lit;
      out.push(opts.nocase ? { star: false, test: (c) => c.toLowerCase() === folded } : { star: false, test: (c) => c === lit, lit });
    }
  }
  return out;
}

/** Splits at unescaped "/" (a "/" inside a bracket expression is refused: it would match across segments). */
function segments(p: string, opts: GlobOptions): Segment[] {
  const out: Segment[] = [];
  let cur = '';
  for (let i = 0; i < p.length; i++) {
    const ch = p[i]!;
    const end = quotedEnd(p, i);
    if (end > i) {
      const quoted = p.slice(i, end + 1);
      if (ch === '[' && quoted.includes('/')) throw new GlobUnsupported('a bracket expression holding "/"');
      cur += quoted;
      i = end;
    } else if (ch === '/') {
      out.push(cur === '**' ? { globstar: true } : { globstar: false, tokens: tokenize(cur, opts) });
      cur = '';
    } else cur += ch;
  }
  out.push(cur === '**' ? { globstar: true } : { globstar: false, tokens: tokenize(cur, opts) });
  return out;
}

/** Whether fixed tokens match `s` from `at` on. */
function fixedAt(tokens: Token[], s: string, at: number): boolean {
  for (let k = 0; k < tokens.length; k++) if (!(tokens[k] as { test: (c: string) => boolean }).test(s[at + k]!)) return false;
  return true;
}

/**
 * One path segment against one segment of the pattern: pieces between stars, each at its leftmost
 * place. `more`: the key goes on after this segment.
 */
function segmentMatches(tokens: Token[], s: string, more: boolean): boolean {
  if (!tokens.some((t) => t.star)) return tokens.length === s.length && fixedAt(tokens, s, 0);
  // As picomatch: a segment that is only a star needs a character to follow (an empty segment before a "/" is one).
  if (tokens.length === 1 && !s.length) return more || !!(tokens[0] as { empty?: boolean }).empty;
  const pieces: Token[][] = [[]];
  for (const t of tokens) {
    if (t.star) pieces.push([]);
    else pieces[pieces.length - 1]!.push(t);
  }
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (first.length + last.length > s.length) return false;
  if (!fixedAt(first, s, 0) || !fixedAt(last, s, s.length - last.length)) return false;
  let at = first.length;
  const end = s.length - last.length;
  for (let k = 1; k < pieces.length - 1; k++) {
    const piece = pieces[k]!;
    let found = -1;
    for (let i = at; i + piece.length <= end; i++) {
      if (fixedAt(piece, s, i)) {
        found = i;
        break;
      }
    }
    if (found < 0) return false;
    at = found + piece.length;
  }
  return true;
}

/**
 * Key segments against pattern segments: groups between `**` segments, each at its leftmost place.
 * `needOne`: a final `**` must match a segment (see linearMatcher).
 */
function pathMatches(pattern: Segment[], key: string[], needOne: 0 | 1): boolean {
  const groups: Segment[][] = [[]];
  for (const seg of pattern) {
    if (seg.globstar) groups.push([]);
    else groups[groups.length - 1]!.push(seg);
  }
  const groupAt = (g: Segment[], at: number) => g.every((seg, k) => segmentMatches((seg as { tokens: Token[] }).tokens, key[at + k]!, at + k < key.length - 1));
  if (groups.length === 1) return groups[0]!.length === key.length && groupAt(groups[0]!, 0);
  const first = groups[0]!;
  const last = groups[groups.length - 1]!;
  if (first.length + last.length + needOne > key.length) return false;
  if (!groupAt(first, 0) || !groupAt(last, key.length - last.length)) return false;
  let at = first.length;
  const end = key.length - last.length - needOne;
  for (let k = 1; k < groups.length - 1; k++) {
    const g = groups[k]!;
    let found = -1;
    for (let i = at; i + g.length <= end; i++) {
      if (groupAt(g, i)) {
        found = i;
        break;
      }
    }
    if (found < 0) return false;
    at = found + g.length;
  }
  return true;
}

/**
 * A matcher for a glob with several wildcards (see the top of this file). Throws GlobUnsupported for a
 * construct it does not cover. Keys are names: `*` and `**` match "." and ".." segments too.
 */
export function linearMatcher(glob: string, opts: GlobOptions = {}): (key: string) => boolean {
  let negated = false;
  let p = glob;
  while (p.startsWith('!')) {
    negated = !negated;
    p = p.slice(1);
  }
  if (p.includes(EMPTY_STAR)) throw new GlobUnsupported('the character U+F8FF');
  const normalized = normalizeStars(p);
  // As picomatch: a final `/**` right after a star needs a segment to match (`*/**` is not "c", while
  // `a/**`, `?/**` and `{a,}/**` are "a"); it is read from the pattern as written, before braces.
  const needOne = /(^|[^\\])\*\/\*\*$/.test(normalized) && !/\*\*\/\*\*$/.test(normalized) ? 1 : 0;
  const alternatives = expandBraces(normalized).map((alt) => segments(alt, opts));
  const slashOptional = /(^|[^\\])[*\uF8FF]$/.test(normalized);
  // The literal text every alternative ends with: most keys fail there, before any splitting.
  const tails = alternatives.map((a) => {
    const last = a[a.length - 1]!;
    if (last.globstar) return '';
    let tail = '';
    for (let k = last.tokens.length - 1; k >= 0; k--) {
      const lit = (last.tokens[k] as { lit?: string }).lit;
      if (lit === undefined) break;
      tail = lit + tail;
    }
    return tail;
  });
  let tail = tails[0]!;
  for (const t of tails) while (!t.endsWith(tail)) tail = tail.slice(1);
  const positive = (key: string): boolean => {
    if (!key.length) return false;
    if (tail && !key.endsWith(tail) && !(slashOptional && key.endsWith(`${tail}/`))) return false;
    const parts = key.split('/');
    if (alternatives.some((a) => pathMatches(a, parts, needOne))) return true;
    // As picomatch: a key's trailing "/" may be left out when the pattern ends with a star.
    return slashOptional && key.endsWith('/') && key.length > 1 && alternatives.some((a) => pathMatches(a, parts.slice(0, -1), needOne));
  };
  return negated ? (key) => !positive(key) : positive;
}
