import { sql, type RawBuilder } from 'kysely';
import { all, type Tx } from '../ops.js';
import type { StoreTexts, TextHit, TextInfo, TextPayload, TextSearch } from '../types.js';
import type { Part } from './base.js';
import { knownTexts, writeText } from './text-rows.js';

/** The first key after every key that starts with `prefix` (for a range scan), or null when none is. */
function prefixEnd(prefix: string): string | null {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xffff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return null;
}

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
      await this.exec('tx', () => writeText(this.qb, this.pg, sha256, text, now, replace));
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

    async searchTexts(org: string, q: TextSearch): Promise<{ hits: TextHit[]; total: number }> {
      const filters: RawBuilder<unknown>[] = [sql`i.org_id = ${org}`, sql`i.duplicate_of IS NULL`];
      if (q.indexes?.length) filters.push(sql`i.index_name IN (${sql.join(q.indexes)})`);
      if (q.prefix) {
        filters.push(sql`i.key >= ${q.prefix}`);
        const end = prefixEnd(q.prefix);
        if (end !== null) filters.push(sql`i.key < ${end}`);
      }
      const where = sql.join(filters, sql` AND `);
      const query = this.pg
        ? sql<TextHit & { total: number }>`
            WITH q AS (SELECT to_tsquery('simple', ${q.tsquery}) AS q),
            hits AS (SELECT c.sha256, c.off, c.body, ts_rank(c.tsv, q.q) AS score FROM text_chunks c, q WHERE c.tsv @@ q.q),
            best AS (SELECT DISTINCT ON (sha256) sha256, off, body, score FROM hits ORDER BY sha256, score DESC, off)
            SELECT i.index_name, i.key, b.sha256, b.score, b.off, b.body, t.status, COUNT(*) OVER () AS total
            FROM best b JOIN items i ON i.sha256 = b.sha256 JOIN texts t ON t.sha256 = b.sha256
            WHERE ${where}
            ORDER BY b.score DESC, i.index_name, i.key LIMIT ${q.limit} OFFSET ${q.offset}`
        : sql<TextHit & { total: number }>`
            WITH hits AS (
              SELECT c.sha256 AS sha256, c.off AS off, c.body AS body, -bm25(text_fts) AS score
              FROM text_fts JOIN text_chunks c ON c.id = text_fts.rowid WHERE text_fts MATCH ${q.fts5}),
            best AS (SELECT sha256, off, body, score, ROW_NUMBER() OVER (PARTITION BY sha256 ORDER BY score DESC, off) AS rn FROM hits)
            SELECT i.index_name, i.key, b.sha256, b.score, b.off, b.body, t.status, COUNT(*) OVER () AS total
            FROM best b CROSS JOIN items i ON i.sha256 = b.sha256 JOIN texts t ON t.sha256 = b.sha256
            WHERE b.rn = 1 AND ${where}
            ORDER BY b.score DESC, i.index_name, i.key LIMIT ${q.limit} OFFSET ${q.offset}`;
      const rows = await this.exec('auto', () => all({ compile: () => query.compile(this.qb) }));
      let total = rows.length ? Number(rows[0]!.total) : 0;
      // Past the last page COUNT(*) OVER () has no row to ride on: the offset says at least how many there are.
      if (!rows.length && q.offset > 0) total = q.offset;
      return { hits: rows.map((r) => ({ index_name: r.index_name, key: r.key, sha256: r.sha256, score: Number(r.score), off: Number(r.off), body: r.body, status: r.status })), total };
    }

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
