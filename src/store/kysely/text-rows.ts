import { sql, type Kysely } from 'kysely';
import { foldText } from '../../shared/search-words.js';
import { all, run, type Tx } from '../ops.js';
import type { DB } from '../schema.js';
import type { TextPayload } from '../types.js';

/** Chunks per INSERT statement (4 or 5 parameters each, far below either driver's limit). */
const ROWS_PER_INSERT = 200;

/**
 * Writes a content's text and its chunks (used by the commit of an imported file and by reindex).
 * The text row is the claim: when it exists already (another process extracted the same content),
 * nothing is written, unless `replace` drops the old text first. SQLite's triggers feed FTS5 from
 * the chunks; PostgreSQL gets each chunk's tsvector of its folded words.
 */
export function* writeText(qb: Kysely<DB>, pg: boolean, sha256: string, t: TextPayload, now: string, replace = false): Tx<void> {
  if (replace) yield* dropTexts(qb, [sha256]);
  const row = { sha256, status: t.status, detail: t.detail, format: t.format, derived: t.derived ? 1 : 0, bytes: t.bytes, extracted_at: now };
  const inserted = yield* run(qb.insertInto('texts').values(row).onConflict((oc) => oc.column('sha256').doNothing()));
  if (!inserted) return;
  for (let i = 0; i < t.chunks.length; i += ROWS_PER_INSERT) {
    const rows = t.chunks.slice(i, i + ROWS_PER_INSERT).map((c) => {
      const r = { sha256, seq: c.seq, off: c.off, body: c.body };
      return pg ? { ...r, tsv: sql`to_tsvector('simple', ${foldText(c.body)})` } : r;
    });
    yield* run(qb.insertInto('text_chunks').values(rows as never));
  }
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
