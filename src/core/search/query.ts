import { invalid } from '../../shared/errors.js';
import { foldWords } from '../../shared/search-words.js';
import type { TextSearch } from '../../store/types.js';

/**
 * cloudport's query language, the same on both stores:
 *   plain words        all of them (AND)
 *   "a quoted phrase"  these words in this order
 *   word*              words starting with it ("a phrase"* or "a phrase*": its last word)
 *   x OR y             either (binds tighter than the AND between terms)
 *   -word, -"phrase"   excluded
 * Words are folded as the index folds them (shared/search-words.ts), so punctuation inside a word
 * makes a phrase ("e-mail" is "e mail") and nothing typed reaches either store's syntax unescaped.
 */

export interface Term {
  /** Folded words; several make a phrase. */
  words: string[];
  /** The last word is a prefix. */
  prefix: boolean;
}

export interface ParsedQuery {
  /** Every clause must match; a clause matches when one of its terms does. */
  all: Term[][];
  none: Term[];
}

export const MAX_QUERY_LENGTH = 500;
export const MAX_TERMS = 32;
const FIX = 'Use words, "quoted phrases", OR between alternatives and -word to exclude, e.g. indemnification "governing law" -draft.';

type Token = { kind: 'term'; term: Term; negated: boolean } | { kind: 'or' };

function tokenize(query: string): Token[] {
  const out: Token[] = [];
  const re = /(-?)"([^"]*)"?(\*?)|(\S+)/g;
  for (const m of query.matchAll(re)) {
    if (m[4] !== undefined) {
      const raw = m[4];
      if (raw === 'OR' || raw === '|') {
        out.push({ kind: 'or' });
        continue;
      }
      const negated = raw.startsWith('-') && raw.length > 1;
      const body = negated ? raw.slice(1) : raw;
      const prefix = body.endsWith('*');
      const words = foldWords(body);
      if (words.length) out.push({ kind: 'term', term: { words, prefix }, negated });
    } else {
      const words = foldWords(m[2] ?? '');
      // "governing la*" means what "governing la"* does: the star typed inside the quotes is not lost.
      const prefix = m[3] === '*' || /\*\s*$/.test(m[2] ?? '');
      if (words.length) out.push({ kind: 'term', term: { words, prefix }, negated: m[1] === '-' });
    }
  }
  return out;
}

export function parseQuery(query: string): ParsedQuery {
  if (query.length > MAX_QUERY_LENGTH) throw invalid('query', `query is longer than ${MAX_QUERY_LENGTH} characters`, 'Search for the few words that matter.');
  const tokens = tokenize(query);
  const all: Term[][] = [];
  const none: Term[] = [];
  let joinNext = false;
  for (const t of tokens) {
    if (t.kind === 'or') {
      joinNext = all.length > 0;
      continue;
    }
    if (t.negated) {
      none.push(t.term);
      joinNext = false;
    } else if (joinNext) all[all.length - 1]!.push(t.term);
    else all.push([t.term]);
    if (!t.negated) joinNext = false;
  }
  if (!all.length) {
    throw invalid('query', none.length ? 'a query needs at least one word to find; it has only excluded words' : 'the query has no words to search for (punctuation, emoji and other symbols are not words)', FIX);
  }
  if (all.flat().length + none.length > MAX_TERMS) throw invalid('query', `the query has more than ${MAX_TERMS} terms`, 'Search for the few words that matter.');
  return { all, none };
}

/** What a snippet marks: single words (prefix terms by their start), and phrases only where their words stand together. */
export interface Marked {
  exact: Set<string>;
  prefixes: string[];
  phrases: Term[];
}

export function markedWords(q: ParsedQuery): Marked {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const phrases: Term[] = [];
  for (const t of q.all.flat()) {
    if (t.words.length > 1) phrases.push(t);
    else if (t.prefix) prefixes.push(t.words[0]!);
    else exact.add(t.words[0]!);
  }
  return { exact, prefixes, phrases };
}

// Folded words hold letters and digits only, so they need no escaping inside FTS5 strings or tsquery lexemes.

function fts5Term(t: Term): string {
  return `"${t.words.join(' ')}"${t.prefix ? ' *' : ''}`;
}

function fts5Clause(c: Term[]): string {
  return c.length === 1 ? fts5Term(c[0]!) : `(${c.map(fts5Term).join(' OR ')})`;
}

/** The query as an FTS5 MATCH expression. */
export function toFts5(q: ParsedQuery): string {
  let s = q.all.map(fts5Clause).join(' AND ');
  if (q.none.length) s = `(${s}) NOT ${fts5Clause(q.none)}`;
  return s;
}

function tsTerm(t: Term): string {
  const lexemes = t.words.map((w, i) => `'${w}'${t.prefix && i === t.words.length - 1 ? ':*' : ''}`);
  return lexemes.length === 1 ? lexemes[0]! : `(${lexemes.join(' <-> ')})`;
}

function tsClause(c: Term[]): string {
  return c.length === 1 ? tsTerm(c[0]!) : `(${c.map(tsTerm).join(' | ')})`;
}

/** The query as a tsquery (its lexemes already folded words: cast, not parsed again). */
export function toTsquery(q: ParsedQuery): string {
  const parts = q.all.map(tsClause);
  for (const t of q.none) parts.push(`!${tsTerm(t)}`);
  return parts.join(' & ');
}

/**
 * What the stores run for a query. A query of one clause without exclusions matches an item exactly
 * when one of its chunks matches. Otherwise the words may stand in different chunks of one document
 * (a contract's first and last pages): `item` then holds what a store runs when it has texts of
 * several chunks. It ranks the chunks by any clause (their BM25 or ts_rank is the same as under the
 * whole query when they hold every clause: the same phrases are scored), and an item counts when its
 * text as a whole passes the test: every clause in some chunk, no excluded term in any.
 */
export function searchExpressions(q: ParsedQuery): Pick<TextSearch, 'fts5' | 'tsquery' | 'tsqueryRank' | 'item'> {
  // ts_rank scores a query with a negation as 1e-20 whatever the text: it ranks by the positive clauses.
  const whole = { fts5: toFts5(q), tsquery: toTsquery(q), ...(q.none.length ? { tsqueryRank: toTsquery({ all: q.all, none: [] }) } : {}) };
  if (q.all.length < 2 && !q.none.length) return whole;
  const any: ParsedQuery = { all: [q.all.flat()], none: q.none };
  return {
    ...whole,
    item: {
      fts5Any: toFts5(any),
      tsqueryAny: toTsquery(any),
      ...(q.none.length ? { tsqueryAnyRank: toTsquery({ all: any.all, none: [] }) } : {}),
      fts5All: q.all.map(fts5Clause),
      tsqueryAll: q.all.map(tsClause),
      fts5None: q.none.length ? fts5Clause(q.none) : null,
      tsqueryNone: q.none.length ? tsClause(q.none) : null,
    },
  };
}
