import { sql, type CompiledQuery, type RawBuilder } from 'kysely';
import { all, type Tx } from '../ops.js';
import type { StoreTexts, TextHit, TextInfo, TextPayload, TextSearch } from '../types.js';
import type { Part } from './base.js';
import { knownTexts, writeText, type Prepare } from './text-rows.js';

/**
 * A key above every key that starts with `prefix`, for a range scan, or null. Only a last character
 * below the surrogates is raised: the stores compare UTF-8 (SQLite) or code points, where characters
 * beyond U+FFFF sort after U+FFFF, which UTF-16 arithmetic would get wrong. The range only helps the
 * plan; the prefix itself is checked exactly.
 */
function prefixEnd(prefix: string): string | null {
  const c = prefix.charCodeAt(prefix.length - 1);
  if (!prefix || c >= 0xd7ff) return null;
  return prefix.slice(0, -1) + String.fromCharCode(c + 1);
}

interface Candidate {
  id: number;
  sha256: string;
  off: number;
  score: number;
}

/** A chunk in the ranking's order, before its content and place are read (SQLite ranks row ids alone). */
type Ranked = Pick<Candidate, 'id' | 'score'> & Partial<Candidate>;

/**
 * A search's items best first, resolved from its top chunks only as far as pages have asked: `ranked`,
 * then the chunks fetched but not yet resolved (`pending`), then, when `more`, chunks not yet fetched.
 */
interface Ranking {
  version: string | null;
  ranked: { index_name: string; key: string; c: Candidate }[];
  pending: Ranked[];
  /** Chunks taken from the ranking so far (resolved or pending): the next fetch starts after them. */
  fetched: number;
  /** Chunks resolved to items so far: the share of them that were the organization's items scales the total. */
  resolved: number;
  /** The last fetch was full: more chunks may match. */
  more: boolean;
  /** `total` was counted, not estimated. */
  exact: boolean;
  /** Contents already placed (an item's place is its best chunk). */
  seen: Set<string>;
  total: number;
  /** The contents that pass the query's item test, as a subquery (null without one): see passingSet(). */
  pass: RawBuilder<unknown> | null;
}

/** A ranking longer than this, items and chunks waiting included (a deep cursor, one content under thousands of keys), is not kept. */
const RANKED_KEPT = 2000;
/**
 * Kept rankings hold at most this many items, chunks and contents seen in all (each a small object or
 * a 64-character string; some 4 MB of heap): 8 of the longest, or, as most hold under a hundred, a
 * couple of hundred searches (several agents' pages and repeated queries, on a team server of several
 * organizations too). Measured, 64,000 rows held 13 MB of heap and grew the process by 70 MB.
 */
const KEPT_ENTRIES = 8 * RANKED_KEPT;
/** And at most this many searches (their keys hold the query text, outside the row count). */
const RANKINGS_KEPT = 256;
/** indexesWithoutText's answers kept. */
const WITHOUT_TEXT_KEPT = 32;
/**
 * `passListed`: contents passing an item test are listed as a parameter up to this many (about 70 bytes
 * each); past it, each statement evaluates the test again. Tests lower both limits to reach the paths
 * past them.
 */
export const searchTuning = {
  passListed: 10_000,
  /** In a store with texts of several chunks, the items of a search matching at most this many chunks are counted, not estimated. */
  exactCountChunks: 20_000,
};
/** How long chunkCounts() keeps its counts. */
const COUNTS_KEPT_MS = 60_000;

/**
 * Extracted texts and full-text search. A hit is a chunk; an item's result is its best chunk (its
 * place in the document), and items that merely duplicate another key of their index are left out
 * (they share its content and its text). SQLite ranks with FTS5's BM25, PostgreSQL with ts_rank.
 */
export function withTexts<B extends Part>(Base: B) {
  abstract class TextsPart extends Base implements StoreTexts {
    async textsKnown(shas: string[]): Promise<Set<string>> {
      const unique = [...new Set(shas)];
      return this.exec('auto', () => knownTexts(this.qb, unique));
    }

    async textInfo(shas: string[]): Promise<Map<string, TextInfo>> {
      const unique = [...new Set(shas)];
      if (!unique.length) return new Map();
      const rows = await this.exec('auto', () => all(this.qb.selectFrom('texts').select(['sha256', 'status', 'detail', 'format', 'derived', 'bytes']).where('sha256', 'in', unique)));
      return new Map(rows.map((r) => [r.sha256, { status: r.status as TextInfo['status'], detail: r.detail, format: r.format, derived: r.derived === 1, bytes: Number(r.bytes) }]));
    }

    async saveText(sha256: string, text: TextPayload, now: string, replace = false): Promise<void> {
      await this.exec('tx', () => writeText(this.qb, this.pg, this.prepared.bind(this) as Prepare, sha256, text, now, replace));
    }

    async readText(sha256: string, offset: number, length: number): Promise<{ off: number; body: string }[]> {
      return this.exec('auto', () => this.readTextTx(sha256, offset, length));
    }

    private *readTextTx(sha256: string, offset: number, length: number): Tx<{ off: number; body: string }[]> {
      const first = yield* all(this.qb.selectFrom('text_chunks').select('off').where('sha256', '=', sha256).where('off', '<=', offset).orderBy('seq', 'desc').limit(1));
      const from = first[0] ? Number(first[0].off) : 0;
      const rows = yield* all(this.qb.selectFrom('text_chunks').select(['off', 'body']).where('sha256', '=', sha256).where('off', '>=', from).where('off', '<', offset + length).orderBy('seq'));
      return rows.map((r) => ({ off: Number(r.off), body: r.body }));
    }

    /**
     * The best chunks first (FTS5's rank, or ts_rank over the GIN index's matches), only as many as the
     * page needs: every item whose best chunk is among the top K outranks every item whose best chunk is
     * not, so once the top K chunks give the page's items (after the organization's filters), the page
     * is exact; otherwise K doubles. Bodies and statuses are read for the page's rows alone. The total is
     * exact when every match was seen, else counted without ranking.
     */
    async searchTexts(org: string, search: TextSearch): Promise<{ hits: TextHit[]; total: number; exact: boolean }> {
      // The version first: a write after it only makes a kept ranking look older than it is.
      const version = await this.textsVersion();
      const q = await this.itemLevel(search);
      const want = q.offset + q.limit;
      const key = JSON.stringify([org, search.fts5, search.tsquery, search.item ?? null, q.indexes ?? null, q.prefix ?? '']);
      let r = version === null ? undefined : this.rankings.get(key);
      if (r) this.rankings.delete(key);
      if (!r || r.version !== version) r = await this.rank(org, q, want, version);
      else await this.resolve(org, q, r, want);
      await this.lookAhead(org, q, r, want);
      // Once, after the look ahead (which may resolve more items): one estimate at most per call.
      await this.settleTotal(org, q, r);
      if (version !== null && r.ranked.length + r.pending.length <= RANKED_KEPT) {
        // A kept ranking does not keep a listed pass (up to searchTuning.passListed contents): its next pages, if any,
        // evaluate the item test in their statements again.
        r.pass = this.passing(q);
        this.keep(key, r);
      }
      const page = r.ranked.slice(q.offset, want);
      // Exact once every match was resolved, or the organization's matches were counted.
      const exact = r.exact || (!r.more && !r.pending.length);
      if (!page.length) return { hits: [], total: r.total, exact };
      const ids = [...new Set(page.map((p) => p.c.id))];
      // Each chunk's body and its text's status in one statement (a chunk's sha256 is its text's).
      const rows = await this.exec('auto', () => all(this.qb.selectFrom('text_chunks as c').leftJoin('texts as t', 't.sha256', 'c.sha256').select(['c.id', 'c.body', 't.status']).where('c.id', 'in', ids)));
      const chunks = new Map(rows.map((x) => [Number(x.id), x]));
      // The ranking holds the organization's results from the first: scores relative to the best.
      const best = Number(r.ranked[0]!.c.score);
      return {
        hits: page.map((p) => ({
          index_name: p.index_name,
          key: p.key,
          sha256: p.c.sha256,
          score: best > 0 ? Number(p.c.score) / best : 1,
          off: Number(p.c.off),
          body: chunks.get(Number(p.c.id))?.body ?? '',
          status: (chunks.get(Number(p.c.id))?.status ?? 'extracted') as TextHit['status'],
        })),
        total: r.total,
        exact,
      };
    }

    /**
     * The search as this store runs it: with its item test only when some text has several chunks
     * (else a chunk that matches the whole query is an item that does, and the one expression is
     * exact and cheaper: it ranks the chunks that hold every word, not those that hold any).
     */
    private async itemLevel(q: TextSearch): Promise<TextSearch> {
      if (!q.item) return q;
      if (!(await this.someTextHasSeveralChunks())) return { ...q, item: undefined };
      return { ...q, fts5: q.item.fts5Any, tsquery: q.item.tsqueryAny, tsqueryRank: q.item.tsqueryAnyRank };
    }

    /**
     * Keeps a ranking as the newest. Rankings of an older version are dropped first: a version never
     * comes back once the database changed. Then the oldest go while over KEPT_ENTRIES or RANKINGS_KEPT.
     */
    private keep(key: string, r: Ranking): void {
      const size = (x: Ranking) => x.ranked.length + x.pending.length + x.seen.size;
      let total = 0;
      for (const [k, x] of this.rankings) {
        if (x.version !== r.version) this.rankings.delete(k);
        else total += size(x);
      }
      this.rankings.set(key, r);
      total += size(r);
      for (const [k, x] of this.rankings) {
        if (total <= KEPT_ENTRIES && this.rankings.size <= RANKINGS_KEPT) break;
        this.rankings.delete(k);
        total -= size(x);
      }
    }

    /** text_chunks_continued holds one row per text of several chunks: one index probe. */
    private async someTextHasSeveralChunks(): Promise<boolean> {
      const rows = await this.exec('auto', () => all(this.rawQuery<{ id: number }>(sql`SELECT id FROM text_chunks WHERE seq = 1 LIMIT 1`)));
      return rows.length > 0;
    }

    /**
     * The searches ranked last, by query and filters, for as long as the database is unchanged: the
     * next page of a cursor and a repeated query read from here, since ranking every match is what a
     * search costs (BM25 walks each match's positions).
     */
    private readonly rankings = new Map<string, Ranking>();

    /**
     * A value that changes whenever any text or item may have changed, or null where none can be read.
     * SQLite: this connection's count of changed rows, and data_version, which changes when another
     * connection commits. PostgreSQL: the server's current snapshot (`xmin:xmax:in-progress`): while it
     * is the same, no transaction has ended or begun to write, whichever process runs it. It is read
     * before the ranking, so a transaction that ends in between only makes the kept ranking look older
     * than it is. (The WAL position would not do: a commit's record is in the WAL before the commit is
     * visible, so a search in that gap would keep a ranking without it under the new position.)
     */
    private async textsVersion(): Promise<string | null> {
      if (this.pg) {
        if (this.snapshotFn === null) return null;
        const fn = this.snapshotFn;
        try {
          const rows = await this.exec('auto', () => all(this.rawQuery<{ v: string }>(sql`SELECT ${sql.raw(fn)}()::text AS v`)));
          return `snapshot ${rows[0]?.v}`;
        } catch (e) {
          // PostgreSQL 11 and 12 name it txid_current_snapshot; a server without either, or refusing it,
          // ranks every search. Anything else: this search is not kept, the next one asks again.
          const code = (e as { code?: string }).code ?? '';
          if (code === '42883' && fn === 'pg_current_snapshot') this.snapshotFn = 'txid_current_snapshot';
          else if (['42883', '42501', '0A000'].includes(code)) this.snapshotFn = null;
          return null;
        }
      }
      const rows = await this.exec('auto', () => all(this.rawQuery<{ t: number; v: number }>(sql`SELECT total_changes() AS t, (SELECT data_version FROM pragma_data_version) AS v`)));
      return `${rows[0]?.v}:${rows[0]?.t}`;
    }

    /** The server's function answering its current snapshot, or null where there is none to use. */
    private snapshotFn: 'pg_current_snapshot' | 'txid_current_snapshot' | null = 'pg_current_snapshot';

    /** The organization's matching items, best first, at least `want` of them when as many match, and how many match in all. */
    private async rank(org: string, q: TextSearch, want: number, version: string | null): Promise<Ranking> {
      const pass = await this.passingSet(q);
      const r: Ranking = { version, ranked: [], pending: [], fetched: 0, resolved: 0, more: true, exact: false, seen: new Set(), total: 0, pass: pass?.sql ?? null };
      // No text passes the item test: nothing to rank or count.
      if (pass?.empty) return { ...r, more: false, exact: true };
      await this.resolve(org, q, r, want);
      return r;
    }

    /**
     * One item past the page, from the chunks already fetched only (fetching again ranks every match
     * again): when it is found a next page exists; when the matches end before it the total becomes
     * exact, so the last page offers no cursor to an empty one. Otherwise the estimate, kept above the
     * items ranked, offers the cursor as before.
     */
    private async lookAhead(org: string, q: TextSearch, r: Ranking, want: number): Promise<void> {
      if (r.ranked.length > want || (!r.pending.length && r.more)) return;
      await this.resolve(org, q, r, want + 1, false);
    }

    /**
     * How many items match: exact once every match is resolved, or when counted (other organizations'
     * items in the store); else estimated, and estimated again whenever the resolved items reach the
     * estimate. An estimate stays above the items resolved while matches may remain, so a page that
     * has them all still offers a next cursor (SearchService's rule).
     */
    private async settleTotal(org: string, q: TextSearch, r: Ranking): Promise<void> {
      if (!r.more && !r.pending.length) r.total = r.ranked.length;
      else if (!r.exact && r.total <= r.ranked.length) {
        const m = await this.estimateMatches(org, q, r);
        r.exact = m.exact;
        r.total = m.exact ? Math.max(m.n, r.ranked.length) : Math.max(m.n, r.ranked.length + 1);
      }
    }

    /**
     * Resolves chunks of the ranking to the organization's items until `want` items are ranked or the
     * matches end. The ranking itself is FTS5's (or ts_rank's) top K, K at least 64 and doubling when a
     * page needs more (each fetch ranks every match again, so it takes many); reading the chunks' contents
     * and their items costs per chunk, so only about twice what the page still needs is resolved at a
     * time, and the rest waits in `pending` for the next page. When one fetch holds every match, all of
     * them are resolved: the total is then exact.
     */
    private async resolve(org: string, q: TextSearch, r: Ranking, want: number, fetch = true): Promise<void> {
      while (r.ranked.length < want) {
        if (!r.pending.length) {
          if (!r.more || !fetch) return;
          const n = Math.max(64, want * 4, r.fetched);
          r.pending = await this.exec('auto', () => all(this.rawQuery<Ranked>(this.candidates(q, n, r.fetched, r.pass))));
          r.fetched += r.pending.length;
          r.more = r.pending.length === n;
          if (!r.pending.length) return;
        }
        const slice = r.pending.splice(0, r.more ? Math.max(16, (want - r.ranked.length) * 2) : r.pending.length);
        r.resolved += slice.length;
        let cands = slice as Candidate[];
        if (slice.some((c) => c.sha256 === undefined)) {
          const rows = await this.exec('auto', () => all(this.qb.selectFrom('text_chunks').select(['id', 'sha256', 'off']).where('id', 'in', slice.map((c) => c.id))));
          const byId = new Map(rows.map((x) => [Number(x.id), x]));
          cands = slice.flatMap((c) => {
            const x = byId.get(Number(c.id));
            return x ? [{ id: Number(c.id), sha256: x.sha256, off: Number(x.off), score: Number(c.score) }] : [];
          });
        }
        const shas = [...new Set(cands.map((c) => c.sha256).filter((sha) => !r.seen.has(sha)))];
        const owners = new Map<string, { index_name: string; key: string }[]>();
        for (let i = 0; i < shas.length; i += 500) {
          const part = shas.slice(i, i + 500);
          const rows = await this.exec('auto', () => all(this.rawQuery<{ index_name: string; key: string; sha256: string }>(sql`SELECT i.index_name, i.key, i.sha256 FROM items i WHERE i.sha256 IN (${sql.join(part)}) AND ${this.itemFilters(org, q)}`)));
          for (const x of rows) owners.set(x.sha256, [...(owners.get(x.sha256) ?? []), { index_name: x.index_name, key: x.key }]);
        }
        // An item's place is its best chunk: the first chunk of its content (chunks come best first).
        for (const c of cands) {
          if (r.seen.has(c.sha256)) continue;
          r.seen.add(c.sha256);
          const items = (owners.get(c.sha256) ?? []).sort((x, y) => (x.index_name === y.index_name ? (x.key < y.key ? -1 : 1) : x.index_name < y.index_name ? -1 : 1));
          for (const it of items) r.ranked.push({ ...it, c });
        }
      }
    }

    /**
     * Chunks `from` to `from + k` of every organization's matches (the items decide whose they are), best
     * first, ties by id. SQLite: the row ids and scores alone, as FTS5 ranks them (looking each chunk up
     * costs a page read or more, so resolve() reads only the ones a page needs).
     */
    private candidates(q: TextSearch, k: number, from: number, pass: RawBuilder<unknown> | null): RawBuilder<unknown> {
      // With an item test, only the chunks of the texts that pass it: every candidate is then an item's,
      // however few texts pass among the many whose chunks hold some word.
      if (this.pg) {
        const only = pass ? sql` AND c.sha256 IN (${pass})` : sql``;
        // OFFSET 0 keeps the scores' subquery apart, so that the sort holds four columns: otherwise it held
        // each match's tsvector too (about 2.7 KB a row), and spilled to disk past work_mem.
        return sql`SELECT r.id, r.sha256, r.off, r.score FROM (SELECT c.id, c.sha256, c.off, ts_rank(c.tsv, ${q.tsqueryRank !== undefined ? sql`cast(${q.tsqueryRank} AS tsquery)` : sql`x.q`}) AS score FROM text_chunks c, cast(${q.tsquery} AS tsquery) x(q) WHERE c.tsv @@ x.q${only} OFFSET 0) r ORDER BY r.score DESC, r.id LIMIT ${k} OFFSET ${from}`;
      }
      // `+rowid`: a filter on FTS5's ranked rows, not a constraint FTS5 takes (it would evaluate the whole
      // expression once per row id of the list).
      const only = pass ? sql` AND +rowid IN (SELECT p.id FROM text_chunks p WHERE p.sha256 IN (${pass}))` : sql``;
      return sql`SELECT rowid AS id, -rank AS score FROM text_fts WHERE text_fts MATCH ${q.fts5}${only} ORDER BY rank, rowid LIMIT ${k} OFFSET ${from}`;
    }

    /**
     * The contents whose text as a whole passes the query's item test, as a subquery (null without one):
     * those with every clause in some chunk, less those with an excluded term in any. Each clause's
     * matches are listed once (the cost of counting them).
     */
    private passing(q: TextSearch): RawBuilder<unknown> | null {
      const t = q.item;
      if (!t) return null;
      const matching = (e: string) => (this.pg ? sql`SELECT c.sha256 FROM text_chunks c WHERE c.tsv @@ cast(${e} AS tsquery)` : sql`SELECT ${this.chunkTexts(e)}`);
      const all = sql.join((this.pg ? t.tsqueryAll : t.fts5All).map(matching), sql` INTERSECT `);
      const none = this.pg ? t.tsqueryNone : t.fts5None;
      return none === null ? all : sql`${all} EXCEPT ${matching(none)}`;
    }

    /**
     * The contents that pass the query's item test, for the ranking and the count alike: evaluated once and
     * listed as one parameter when at most searchTuning.passListed pass (else the subquery, which each statement
     * evaluates again). Null without an item test. Past the limit the probe's work is lost, and the test
     * runs three times in all.
     */
    private async passingSet(q: TextSearch): Promise<{ sql: RawBuilder<unknown>; empty: boolean } | null> {
      const sub = this.passing(q);
      if (!sub) return null;
      const rows = await this.exec('auto', () => all(this.rawQuery<{ sha256: string }>(sql`${sub} LIMIT ${searchTuning.passListed + 1}`)));
      if (rows.length > searchTuning.passListed) return { sql: sub, empty: false };
      const shas = rows.map((x) => x.sha256);
      return { sql: this.pg ? sql`SELECT unnest(${shas}::text[])` : sql`SELECT value FROM json_each(${JSON.stringify(shas)})`, empty: !shas.length };
    }

    /**
     * How many items match, when the top chunks did not show them all. A store that holds this
     * organization's items alone scales the count of matching chunks (cheap: no ranking, no join) by the
     * share of the top chunks that were the organization's matching items; where other organizations
     * have items, that count would tell about theirs, so the organization's matches are counted exactly.
     */
    private async estimateMatches(org: string, q: TextSearch, r: Ranking): Promise<{ n: number; exact: boolean }> {
      const pass = r.pass;
      // With an item test the chunks that hold some word say little about the items that pass it: counted.
      if (pass) return { n: await this.countMatches(org, q, pass), exact: true };
      // The first and last org_id of the primary key: two index seeks, where org_id <> ? would read every item.
      const span = await this.exec('auto', () => all(this.rawQuery<{ lo: string | null; hi: string | null }>(sql`SELECT (SELECT MIN(org_id) FROM items) AS lo, (SELECT MAX(org_id) FROM items) AS hi`)));
      if (span[0]?.lo !== org || span[0]?.hi !== org) return { n: await this.countMatches(org, q, pass), exact: true };
      const chunks = this.pg
        ? sql`SELECT COUNT(*) AS n FROM text_chunks c WHERE c.tsv @@ cast(${q.tsquery} AS tsquery)`
        : sql`SELECT COUNT(*) AS n FROM text_fts WHERE text_fts MATCH ${q.fts5}`;
      const rows = await this.exec('auto', () => all(this.rawQuery<{ n: number }>(chunks)));
      const m = Number(rows[0]?.n ?? 0);
      const perChunk = m * (r.ranked.length / Math.max(1, r.resolved));
      if (!(await this.someTextHasSeveralChunks())) return { n: Math.round(perChunk), exact: false };
      // Texts of several chunks: a text's chunks may match many times over, or few texts hold every
      // match, and no estimate from the chunks tells which (a QA pass saw 54 for 16 items and 52 for 60).
      // The items are counted while the matching chunks are few enough (mapping one to its text costs
      // about 0.4 µs: 8 ms at the limit).
      if (m <= searchTuning.exactCountChunks) return { n: await this.countMatches(org, q, null), exact: true };
      const { chunks: c, texts: t } = await this.chunkCounts();
      if (!(c > t && t > 0)) return { n: Math.round(perChunk), exact: false };
      // Past it, two estimates, the smaller kept:
      // - the items per chunk among the resolved chunks, times m. It sees a word confined to a few long
      //   texts (the top chunks are theirs), but counts a text once per chunk where a word fills them all;
      // - the texts as if the m chunks fell at random among the store's C chunks, C/T to a text:
      //   T (1 - (1 - m/C)^(C/T)), which is T when every chunk matches; times the items per text among the
      //   resolved ones. It counts a word in every chunk right, but spreads a confined word over many texts.
      const texts = t * (1 - Math.pow(Math.max(0, 1 - m / c), c / t));
      return { n: Math.round(Math.min(perChunk, texts * (r.ranked.length / Math.max(1, r.seen.size)))), exact: false };
    }

    /**
     * About how many chunks the store holds, and how many texts have chunks (those extracted, whole or
     * cut), for the estimate alone. Counted at most once a minute, whatever changes in between: a count
     * walks an index of every chunk and the texts (18-24 ms for 400,000 chunks on SQLite), and the
     * store's version changes with any write, a lease renewal included. PostgreSQL reads its planner's row count of the chunks (autovacuum keeps it; counting wide
     * chunk rows took 5-13 ms for 7,500) unless the table was never analyzed, and counts the texts (narrow
     * rows: the binaries' texts, which have no chunks, are left out).
     */
    private async chunkCounts(): Promise<{ chunks: number; texts: number }> {
      if (this.counted && this.clock() - this.counted.at < COUNTS_KEPT_MS) return this.counted;
      const rows = this.pg
        ? await this.exec('auto', () =>
            all(
              this.rawQuery<{ c: number; t: number }>(
                sql`SELECT (SELECT CASE WHEN p.reltuples > 0 THEN p.reltuples ELSE (SELECT COUNT(*) FROM text_chunks) END FROM pg_class p WHERE p.oid = to_regclass('text_chunks')) AS c,
                  (SELECT COUNT(*) FROM texts WHERE status IN ('extracted', 'truncated')) AS t`,
              ),
            ),
          )
        : await this.exec('auto', () => all(this.rawQuery<{ c: number; t: number }>(sql`SELECT (SELECT COUNT(*) FROM text_chunks) AS c, (SELECT COUNT(*) FROM texts WHERE status IN ('extracted', 'truncated')) AS t`)));
      this.counted = { at: this.clock(), chunks: Number(rows[0]?.c ?? 0), texts: Number(rows[0]?.t ?? 0) };
      return this.counted;
    }

    private counted: { at: number; chunks: number; texts: number } | null = null;

    /**
     * SQLite: the texts of the chunks that match an FTS5 expression, as a select list and its source.
     * CROSS JOIN keeps the matches first (else the planner may probe FTS5 once per chunk, each probe
     * evaluating the expression again: seconds for a prefix of many words); each chunk's text comes from
     * the covering index text_chunks_id_sha, not from the chunk's row (a page read per chunk).
     */
    private chunkTexts(fts5: string): RawBuilder<unknown> {
      return sql`c.sha256 FROM text_fts f CROSS JOIN text_chunks c INDEXED BY text_chunks_id_sha ON c.id = f.rowid WHERE text_fts MATCH ${fts5}`;
    }

    /** Items of the organization that match, counted without ranking. */
    private async countMatches(org: string, q: TextSearch, pass: RawBuilder<unknown> | null): Promise<number> {
      const hits =
        pass ??
        (this.pg
          ? sql`SELECT DISTINCT c.sha256 FROM text_chunks c WHERE c.tsv @@ cast(${q.tsquery} AS tsquery)`
          : sql`SELECT DISTINCT ${this.chunkTexts(q.fts5)}`);
      // The matching contents as a set (IN): without statistics both planners joined them the wrong way
      // round, scanning the organization's items once per match (SQLite, by its covering index) or the
      // contents once per item (PostgreSQL): 170-196 ms for 2,000 matches of 1,000 items. On SQLite,
      // INDEXED BY makes each content one seek.
      const items = this.pg ? sql`items i` : sql`items i INDEXED BY items_by_sha`;
      const rows = await this.exec('auto', () => all(this.rawQuery<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${items} WHERE i.sha256 IN (${hits}) AND ${this.itemFilters(org, q)}`)));
      return Number(rows[0]?.n ?? 0);
    }

    /**
     * The organization's items in the searched indexes and under the prefix. A duplicate (a key whose
     * content another key of its index holds) is left out where its original is found, which is
     * always unless the prefix leaves the original out: then the duplicate stands for it.
     */
    private itemFilters(org: string, q: TextSearch): RawBuilder<unknown> {
      const filters: RawBuilder<unknown>[] = [sql`i.org_id = ${org}`];
      if (q.indexes?.length) filters.push(sql`i.index_name IN (${sql.join(q.indexes)})`);
      if (!q.prefix) filters.push(sql`i.duplicate_of IS NULL`);
      else {
        const n = [...q.prefix].length;
        filters.push(sql`(i.duplicate_of IS NULL OR substr(i.duplicate_of, 1, ${n}) <> ${q.prefix})`);
        filters.push(sql`i.key >= ${q.prefix}`, sql`substr(i.key, 1, ${n}) = ${q.prefix}`);
        const end = prefixEnd(q.prefix);
        if (end !== null) filters.push(sql`i.key < ${end}`);
      }
      return sql.join(filters, sql` AND `);
    }

    private rawQuery<T>(q: RawBuilder<unknown>) {
      return { compile: () => q.compile(this.qb) as CompiledQuery<T> };
    }

    async indexesWithoutText(org: string, indexes: string[]): Promise<string[]> {
      const version = await this.textsVersion();
      const key = JSON.stringify([org, indexes]);
      const kept = version === null ? undefined : this.withoutText.get(key);
      if (kept?.version === version) return [...kept.names];
      const names: string[] = [];
      for (const name of indexes) if ((await this.itemsToExtract(org, name, { limit: 1 })).length) names.push(name);
      if (version !== null) {
        this.withoutText.delete(key);
        this.withoutText.set(key, { version, names: [...names] });
        for (const old of this.withoutText.keys()) if (this.withoutText.size > WITHOUT_TEXT_KEPT) this.withoutText.delete(old);
      }
      return names;
    }

    /**
     * indexesWithoutText's answers, by organization and indexes, for as long as the database is
     * unchanged: an index whose items all have text is scanned whole (about 0.4 µs per item on
     * SQLite), which every search that finds nothing would otherwise pay again.
     */
    private readonly withoutText = new Map<string, { version: string; names: string[] }>();

    async itemsToExtract(org: string, index: string, opts: { after?: string; limit: number; all?: boolean }) {
      return this.exec('auto', () => {
        let q = this.qb
          .selectFrom('items as i')
          .select(['i.key', 'i.sha256', 'i.content_type', 'i.size'])
          .where('i.org_id', '=', org)
          .where('i.index_name', '=', index);
        if (opts.after !== undefined) q = q.where('i.key', '>', opts.after);
        if (!opts.all) q = q.where(({ not, exists, selectFrom }) => not(exists(selectFrom('texts as t').select('t.sha256').whereRef('t.sha256', '=', 'i.sha256'))));
        return all(q.orderBy('i.key').limit(opts.limit));
      });
    }
  }
  return TextsPart;
}
