import type { Store, TextInfo } from '../../store/types.js';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import { entryBytes } from '../domain/page-budget.js';
import { requireIndex } from '../domain/index-names.js';
import { MAX_TERMS, markedWords, parseQuery, searchExpressions, type ParsedQuery, type Term } from './query.js';
import { Snippets } from './snippet.js';

export interface SearchInput {
  index?: string | string[];
  query: string;
  prefix?: string;
  limit: number;
  cursor?: string;
}

export interface SearchResult {
  index: string;
  key: string;
  score: number;
  snippet: string;
  /** Where read_item {offset} reads the place of the snippet (bytes of the item's text). */
  offset: number;
  text_status: TextInfo['status'];
}

export interface SearchOutput {
  results: SearchResult[];
  next_cursor: string | null;
  /** Items that match in all (this page and the ones after it). */
  total_estimate: number;
  /** Set when nothing matched: what to try. */
  hint?: string;
}

/**
 * Bytes of text a page of results may take (keys and snippets, JSON-escaped): 50 results with long keys
 * and snippets of CJK text would pass 64 KiB. Past it the page is shorter and its cursor resumes after
 * the last result shown; a result is never cut.
 */
export const SEARCH_PAGE_BUDGET = 48 * 1024;

/** Scores are BM25 (SQLite) or ts_rank (PostgreSQL): only their order means something, so a few digits suffice. */
const round = (n: number) => Number(n.toPrecision(4));

/**
 * The query with each phrase's words as separate words (each once), or null when it has no phrase
 * standing alone as a clause, or would have more terms than a query may (a quoted sentence).
 */
function unquoted(q: ParsedQuery): ParsedQuery | null {
  const single = (c: Term[]) => c.length === 1 && c[0]!.words.length > 1;
  if (!q.all.some(single)) return null;
  const seen = new Set<string>();
  const all: Term[][] = [];
  for (const c of q.all) {
    if (!single(c)) all.push(c);
    else
      c[0]!.words.forEach((w, i, ws) => {
        const t = { words: [w], prefix: c[0]!.prefix && i === ws.length - 1 };
        const key = `${w}${t.prefix ? '*' : ''}`;
        if (!seen.has(key)) seen.add(key), all.push([t]);
      });
  }
  return all.flat().length + q.none.length > MAX_TERMS ? null : { all, none: q.none };
}

/** search_index: full-text search over the org's indexes. */
export class SearchService {
  constructor(private readonly store: Store) {}

  /** The output, and for its text where the page starts and whether the total was counted. */
  async search(org: string, input: SearchInput): Promise<SearchOutput & { position: { first: number; exact: boolean } }> {
    const given = input.index === undefined ? [] : Array.isArray(input.index) ? input.index : [input.index];
    const names = input.index === undefined ? undefined : [...new Set(given)];
    // Each name is checked once, at its first place in the caller's array: the field points at what the caller sent, not at the deduplicated list.
    for (const [i, name] of given.entries()) {
      if (given.indexOf(name) !== i) continue;
      await requireIndex(this.store, org, name, Array.isArray(input.index) ? `index[${i}]` : 'index', 'list_indexes shows the indexes; omit index to search them all.');
    }
    const parsed = parseQuery(input.query);
    const q = { q: input.query, i: names ?? null, p: input.prefix ?? '' };
    const offset = decodeCursor<{ o: number }>(org, input.cursor, q, { o: 'count' })?.o ?? 0;
    const { hits, total, exact } = await this.store.searchTexts(org, {
      ...searchExpressions(parsed),
      ...(names ? { indexes: names } : {}),
      ...(input.prefix ? { prefix: input.prefix } : {}),
      offset,
      limit: input.limit,
    });
    const snippets = new Snippets(markedWords(parsed));
    const results: SearchResult[] = [];
    let bytes = 0;
    for (const h of hits) {
      const s = snippets.of(h.body);
      const r = { index: h.index_name, key: h.key, score: round(h.score), snippet: s.text, offset: h.off + s.offset, text_status: h.status };
      bytes += entryBytes(r.index, r.key, r.snippet, r.text_status);
      if (bytes > SEARCH_PAGE_BUDGET && results.length) break;
      results.push(r);
    }
    const shown = results.length;
    const next = offset + shown < total ? encodeCursor(org, { o: offset + shown }, q) : null;
    // Never fewer than the items shown up to this page; a page past the end (the store changed since the
    // previous one) reports the total as it is now.
    const out: SearchOutput = { results, next_cursor: next, total_estimate: shown ? Math.max(total, offset + shown) : total };
    if (!results.length && offset === 0) out.hint = await this.hint(org, names, parsed, input.prefix, input.query.includes('"'));
    return { ...out, position: { first: offset + 1, exact: exact || !next } };
  }

  /**
   * Why nothing may have matched: items without text yet, a prefix that leaves the matches out, a
   * phrase whose words match apart, or too narrow a query. The last two are found by asking again
   * (only when nothing matched).
   */
  private async hint(org: string, names: string[] | undefined, parsed: ParsedQuery, prefix: string | undefined, quoted: boolean): Promise<string> {
    const indexes = names ?? (await this.store.listIndexes(org, { limit: 1000 })).map((i) => i.name);
    if (!indexes.length) return 'this organization has no index yet: start_import creates one.';
    const missing = await this.store.indexesWithoutText(org, indexes.slice(0, 50));
    if (missing.length) return `some items of ${missing.slice(0, 5).join(', ')} have no extracted text yet (imported with extraction off, or before search existed): reindex_index {index} extracts them.`;
    const count = (q: ParsedQuery, p: string | undefined) => this.store.searchTexts(org, { ...searchExpressions(q), ...(names ? { indexes: names } : {}), ...(p ? { prefix: p } : {}), offset: 0, limit: 1 });
    if (prefix) {
      const outside = await count(parsed, undefined);
      if (outside.total) {
        // An estimate can be far off for few long documents: a number only when counted.
        return `${outside.exact ? `${outside.total} item(s)` : 'items'} match outside prefix ${JSON.stringify(prefix)}: a prefix is the exact start of keys (case matters, no leading /, no wildcards such as *); search_index without prefix lists them.`;
      }
    }
    // The exclusions may be what removed every match: said with how many match without them.
    if (parsed.none.length) {
      const without = await count({ all: parsed.all, none: [] }, prefix);
      if (without.total) {
        const words = parsed.none.map((t) => `-${t.words.length > 1 ? `"${t.words.join(' ')}"` : t.words[0]}${t.prefix ? '*' : ''}`).join(' ');
        return `${without.exact ? `${without.total} item(s)` : 'items'} match without ${words}, and each of them holds ${parsed.none.length > 1 ? 'an excluded term' : 'the excluded term'}: drop ${words} to see them.`;
      }
    }
    // Only for quotes the caller typed (punctuation inside a word makes a phrase too: e-mail).
    const loose = quoted ? unquoted(parsed) : null;
    if (loose && (await count(loose, prefix)).total) {
      return 'the words match, but not as the quotes ask (side by side, in that order, within one passage of the text): drop the quotes to find them apart (an unclosed quote makes the rest of the query one phrase).';
    }
    return 'no item matches every word: try fewer words, OR (upper case) between alternatives, or a prefix such as contract*; AND and NOT are not operators (words must all match; -word excludes), and text in Chinese, Japanese or Korean is matched by whole runs of characters between spaces or punctuation.';
  }
}
