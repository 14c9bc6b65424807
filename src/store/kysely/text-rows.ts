import { sql, type Compilable, type Kysely } from 'kysely';
import { foldWords } from '../../shared/search-words.js';
import { all, lock, run, type Tx } from '../ops.js';
import type { DB } from '../schema.js';
import type { TextPayload } from '../types.js';
import { statement, type Statement } from './statements.js';

/** Runs a hot statement with its SQL compiled once (StoreBase.prepared). */
export type Prepare = <A extends unknown[], O>(s: Statement<A, O>, ...args: A) => Compilable<O>;

/** A content's text row; its primary key makes it the claim of whoever writes the text first. Every imported file writes one. */
const TEXT_ROW = statement({
  name: 'text.row',
  arity: 7,
  build: (qb, _pg, [sha256, status, detail, format, derived, bytes, extracted_at]) =>
    qb
      .insertInto('texts')
      .values({ sha256, status, detail, format, derived, bytes, extracted_at })
      .onConflict((oc) => oc.column('sha256').doNothing()),
  params: (sha256: string, status: string, detail: string | null, format: string, derived: number, bytes: number, now: string) => [sha256, status, detail, format, derived, bytes, now],
});

/** Chunks per INSERT statement (4 or 5 parameters each, far below either driver's limit). */
const ROWS_PER_INSERT = 200;

/**
 * Writes a content's text and its chunks (used by the commit of an imported file and by reindex).
 * The text row is the claim: when it exists already (another process extracted the same content),
 * nothing is written, unless `replace` drops the old text first. SQLite's triggers feed FTS5 from
 * the chunks; PostgreSQL gets each chunk's tsvector of its folded words.
 */
export function* writeText(qb: Kysely<DB>, pg: boolean, prepare: Prepare, sha256: string, t: TextPayload, now: string, replace = false): Tx<void> {
  if (replace) {
    // Two replacements of one content at once (a reindex of duplicates, of two indexes): without the lock,
    // PostgreSQL's second deleted the first's new text row but not its chunks (its DELETE ran on a snapshot
    // from before the first committed), then wrote its own chunks over them: a unique violation.
    yield* lock({ kind: 'text', sha256 });
    yield* dropTexts(qb, [sha256]);
  }
  const inserted = yield* run(prepare(TEXT_ROW, sha256, t.status, t.detail, t.format, t.derived ? 1 : 0, t.bytes, now));
  if (inserted) yield* writeChunks(qb, pg, sha256, t.chunks);
}

/** The chunks of a text whose row this transaction has just written. */
export function* writeChunks(qb: Kysely<DB>, pg: boolean, sha256: string, chunks: TextPayload['chunks']): Tx<void> {
  for (let i = 0; i < chunks.length; i += ROWS_PER_INSERT) {
    const rows = chunks.slice(i, i + ROWS_PER_INSERT).map((c) => {
      const r = { sha256, seq: c.seq, off: c.off, body: c.body };
      return pg ? { ...r, tsv: sql`cast(${tsvectorOf(c.body)} AS tsvector)` } : r;
    });
    yield* run(qb.insertInto('text_chunks').values(rows as never));
  }
}

/**
 * A chunk's folded words as a tsvector literal with their positions: the words FTS5 indexes, as they
 * are. to_tsvector would run PostgreSQL's parser over them again, which splits some (a hex id such as
 * 4e2b1c reads as the number 4e2 and the word b1c) and does not know letters newer than its C library.
 * Words longer than a lexeme may be (2 KB) are left out, as to_tsvector leaves them out.
 */
export function tsvectorOf(body: string): string {
  const out: string[] = [];
  const words = foldWords(body);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.length > 680 && Buffer.byteLength(w) >= 2048) continue;
    out.push(`'${w}':${Math.min(i + 1, 16383)}`);
  }
  return out.join(' ');
}

/** Removes the texts of contents (their blobs are gone, or reindex replaces them). */
export function* dropTexts(qb: Kysely<DB>, shas: string[]): Tx<void> {
  if (!shas.length) return;
  yield* run(qb.deleteFrom('text_chunks').where('sha256', 'in', shas));
  yield* run(qb.deleteFrom('texts').where('sha256', 'in', shas));
}

/** Which of these contents have a text row. */
export function* knownTexts(qb: Kysely<DB>, shas: string[]): Tx<Set<string>> {
  if (!shas.length) return new Set();
  return new Set((yield* all(qb.selectFrom('texts').select('sha256').where('sha256', 'in', shas))).map((r) => r.sha256));
}
