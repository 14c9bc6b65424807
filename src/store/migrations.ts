import { sql, type Kysely, type Compilable } from 'kysely';
import type { DB } from './schema.js';
import type { Dialect } from './ops.js';
import { CloudportError } from '../shared/errors.js';
import { tsvectorOf } from './kysely/text-rows.js';

/**
 * Versioned migrations, written with Kysely's schema builder so that each dialect compiles them
 * itself. Append new versions; never edit an applied one.
 *
 * One list serves SQLite and PostgreSQL. PostgreSQL's compiler (store/postgres.ts) turns
 * `autoIncrement()` ids into bigint identities and gives text columns COLLATE "C" (byte order, as in
 * SQLite); `bigint` columns read back as JS numbers on both. Where a migration needs something else per
 * dialect, branch on `dialect`.
 */
export interface Migration {
  version: number;
  name: string;
  up(db: Kysely<DB>, dialect: Dialect): Compilable[];
  /**
   * PostgreSQL only, after `up` in the same transaction: rewrites rows whose new values only our code can
   * compute (SQLite's migrations call such code as SQL functions registered on the connection).
   */
  rewritePostgres?(query: PgQuery): Promise<void>;
}

/** One statement with $1-style parameters on the migration's connection, answering its rows. */
export type PgQuery = (text: string, values?: unknown[]) => Promise<Record<string, unknown>[]>;

/** Chunks refolded per statement by a migration that changes the search words. */
const REFOLD_BATCH = 500;

/** SQLite: the full-text index made again from every chunk, folded by cp_fold (foldText) as it is now. */
function refoldSqlite(db: Kysely<DB>): Compilable[] {
  const raw = (text: string): Compilable => ({ compile: () => sql.raw(text).compile(db) });
  return [
    raw('DROP TRIGGER IF EXISTS text_chunks_ai'),
    raw('DROP TRIGGER IF EXISTS text_chunks_ad'),
    raw('DROP TABLE IF EXISTS text_fts'),
    raw(`CREATE VIRTUAL TABLE text_fts USING fts5(body, content='text_chunks', content_rowid='id', tokenize='ascii', prefix='2 3')`),
    raw(`CREATE TRIGGER text_chunks_ai AFTER INSERT ON text_chunks BEGIN INSERT INTO text_fts(rowid, body) VALUES (new.id, cp_fold(new.body)); END`),
    raw(`CREATE TRIGGER text_chunks_ad AFTER DELETE ON text_chunks BEGIN INSERT INTO text_fts(text_fts, rowid, body) VALUES ('delete', old.id, cp_fold(old.body)); END`),
    raw(`INSERT INTO text_fts(rowid, body) SELECT id, cp_fold(body) FROM text_chunks`),
  ];
}

/** PostgreSQL: every chunk's tsvector computed again from its body, in batches by id. */
async function refoldPostgres(query: PgQuery): Promise<void> {
  for (let after = 0; ; ) {
    const rows = await query('SELECT id, body FROM text_chunks WHERE id > $1 ORDER BY id LIMIT $2', [after, REFOLD_BATCH]);
    if (!rows.length) return;
    const ids = rows.map((r) => String(r.id));
    const tsvs = rows.map((r) => tsvectorOf(String(r.body)));
    await query('UPDATE text_chunks AS c SET tsv = v.tsv::tsvector FROM unnest($1::bigint[], $2::text[]) AS v(id, tsv) WHERE c.id = v.id', [ids, tsvs]);
    after = Number(rows[rows.length - 1]!.id);
  }
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'initial',
    up: (db) => [
      db.schema.createTable('meta').addColumn('key', 'text', (c) => c.primaryKey()).addColumn('value', 'text', (c) => c.notNull()),
      db.schema
        .createTable('connectors')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('credentials_enc', 'text', (c) => c.notNull())
        .addColumn('key_version', 'integer', (c) => c.notNull())
        .addColumn('credentials_info', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('import_mode', 'text', (c) => c.notNull())
        .addColumn('export_base_path', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('last_sync_at', 'text')
        .addColumn('last_error', 'text')
        .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('connectors_org_name', ['org_id', 'name']),
      db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('index_name', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('listing_state', 'text')
        .addColumn('listing_complete', 'integer', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text'),
      db.schema.createIndex('jobs_org_status').on('jobs').columns(['org_id', 'status']),
      db.schema.createIndex('jobs_connector').on('jobs').columns(['connector_id', 'status']),
      db.schema
        .createTable('job_files')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint')
        .addColumn('etag', 'text')
        .addColumn('version', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('duplicate_of', 'text')
        .addColumn('sha256', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires', 'bigint', (c) => c.notNull().defaultTo(0))
        .addUniqueConstraint('job_files_job_key', ['job_id', 'key']),
      db.schema.createIndex('job_files_claim').on('job_files').columns(['status', 'lease_expires']),
      db.schema.createIndex('job_files_job_status').on('job_files').columns(['job_id', 'status', 'id']),
      db.schema
        .createTable('indexes')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('indexes_pk', ['org_id', 'name']),
      db.schema
        .createTable('items')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('index_name', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('etag', 'text')
        .addColumn('imported_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('items_pk', ['org_id', 'index_name', 'key']),
      db.schema.createIndex('items_sha').on('items').columns(['org_id', 'index_name', 'sha256']),
      db.schema.createIndex('items_blob').on('items').columns(['sha256']),
      db.schema
        .createTable('import_seen')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('index_name', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('import_seen_pk', ['org_id', 'connector_id', 'index_name', 'key']),
      db.schema
        .createTable('job_logs')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text', (c) => c.notNull())
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('key', 'text')
        .addColumn('message', 'text', (c) => c.notNull()),
      db.schema.createIndex('job_logs_job').on('job_logs').columns(['job_id', 'id']),
    ],
  },
  {
    version: 2,
    name: 'idempotency keys',
    up: (db) => [
      db.schema.alterTable('jobs').addColumn('idempotency_key', 'text'),
      db.schema.alterTable('jobs').addColumn('idempotency_hash', 'text'),
      db.schema.createIndex('jobs_idempotency').on('jobs').columns(['org_id', 'idempotency_key']).unique(),
      db.schema.createIndex('jobs_org_created').on('jobs').columns(['org_id', 'id']),
      db.schema.createIndex('job_files_sha').on('job_files').columns(['sha256']),
    ],
  },
  {
    version: 3,
    name: 'organizations and api keys',
    up: (db) => [
      db.schema
        .createTable('orgs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull()),
      db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('read_only', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text'),
    ],
  },
  {
    version: 4,
    name: 'automations',
    up: (db) => [
      db.schema
        .createTable('automations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('index_name', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('schedule', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('next_run_at', 'bigint', (c) => c.notNull())
        .addColumn('last_run_at', 'text')
        .addColumn('last_job_id', 'text')
        .addColumn('last_error', 'text')
        .addColumn('runs', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('skipped', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('automations_org_name', ['org_id', 'name']),
      db.schema.createIndex('automations_due').on('automations').columns(['enabled', 'next_run_at']),
      db.schema.createIndex('automations_connector').on('automations').columns(['org_id', 'connector_id']),
      db.schema.alterTable('jobs').addColumn('automation_id', 'text'),
      db.schema.createIndex('jobs_automation').on('jobs').columns(['org_id', 'automation_id', 'id']),
    ],
  },
  {
    version: 5,
    name: 'dedupe lookup index',
    // commitFile looks for the first key with the same content (WHERE org, index, sha256 ORDER BY key):
    // with (org, index, sha256) alone SQLite scanned the primary key instead, a cost that grew with the index.
    up: (db) => [
      db.schema.createIndex('items_sha_key').on('items').columns(['org_id', 'index_name', 'sha256', 'key']),
      db.schema.dropIndex('items_sha'),
    ],
  },
  {
    version: 6,
    name: 'claim order index',
    // claimFiles takes the oldest claimable files (WHERE status = 'pending' AND lease_expires < now
    // ORDER BY id LIMIT n): with (status, lease_expires) SQLite sorted every pending file of every job
    // on each claim; (status, id, lease_expires) walks the pending files in id order and stops at n.
    up: (db) => [
      db.schema.createIndex('job_files_claim_order').on('job_files').columns(['status', 'id', 'lease_expires']),
      db.schema.dropIndex('job_files_claim'),
    ],
  },
  {
    version: 7,
    name: 'duplicates are items',
    // A file whose content another key of the index already holds becomes an item of its own that
    // names that key in duplicate_of (it used to get no item at all). commitFile looks for the key
    // holding the content (WHERE org, index, sha256, duplicate_of IS NULL ORDER BY key), and
    // deleteItem for the items that name a key (WHERE org, index, duplicate_of).
    // Keys deduped before this version have no item, yet import_seen made new_only imports skip
    // them: their seen rows go, so the next new_only import brings them in (no parameters: SQLite
    // runs migrations as plain SQL).
    up: (db) => [
      db.schema.alterTable('items').addColumn('duplicate_of', 'text'),
      db.schema.createIndex('items_sha_original').on('items').columns(['org_id', 'index_name', 'sha256', 'duplicate_of', 'key']),
      db.schema.dropIndex('items_sha_key'),
      db.schema.createIndex('items_duplicate_of').on('items').columns(['org_id', 'index_name', 'duplicate_of']),
      db
        .deleteFrom('import_seen')
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('items')
                .select(sql`1`.as('x'))
                .whereRef('items.org_id', '=', 'import_seen.org_id')
                .whereRef('items.index_name', '=', 'import_seen.index_name')
                .whereRef('items.key', '=', 'import_seen.key'),
            ),
          ),
        ),
    ],
  },
  {
    version: 8,
    name: 'extracted text and full-text search',
    // Text is keyed by content hash, so identical content is extracted and indexed once; search joins
    // the chunks to the items that hold the content, so deleting an item (or giving its key new
    // content) changes the results in the same transaction. Both stores tokenize alike, without
    // stemming: FTS5 unicode61 with diacritics removed, and PostgreSQL 'simple' over text that
    // shared/search-words.ts has folded the same way (lower case, no diacritics, words only).
    up: (db, dialect) => {
      const raw = (text: string): Compilable => ({ compile: () => sql.raw(text).compile(db) });
      const common: Compilable[] = [
        db.schema
          .createTable('texts')
          .addColumn('sha256', 'text', (c) => c.primaryKey())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('detail', 'text')
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('derived', 'integer', (c) => c.notNull())
          .addColumn('bytes', 'bigint', (c) => c.notNull())
          .addColumn('extracted_at', 'text', (c) => c.notNull()),
        db.schema
          .createTable('text_chunks')
          .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('off', 'bigint', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull()),
        db.schema.createIndex('text_chunks_sha_seq').on('text_chunks').columns(['sha256', 'seq']).unique(),
        // Search joins hits to the items holding their content across the org's indexes.
        db.schema.createIndex('items_by_sha').on('items').columns(['sha256', 'org_id']),
      ];
      if (dialect === 'postgres') {
        return [
          ...common,
          raw('ALTER TABLE text_chunks ADD COLUMN tsv tsvector NOT NULL'),
          raw('CREATE INDEX text_chunks_tsv ON text_chunks USING GIN (tsv)'),
        ];
      }
      return [
        ...common,
        // Prefix indexes of 2 and 3 characters: a query such as con* reads one entry instead of merging
        // every word that starts with it (10x faster on 10,000 documents).
        raw(`CREATE VIRTUAL TABLE text_fts USING fts5(body, content='text_chunks', content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')`),
        raw(`CREATE TRIGGER text_chunks_ai AFTER INSERT ON text_chunks BEGIN INSERT INTO text_fts(rowid, body) VALUES (new.id, new.body); END`),
        raw(`CREATE TRIGGER text_chunks_ad AFTER DELETE ON text_chunks BEGIN INSERT INTO text_fts(text_fts, rowid, body) VALUES ('delete', old.id, old.body); END`),
      ];
    },
  },
  {
    version: 9,
    name: 'automation change tokens',
    // A scheduled import over a connector with a change feed (Drive's changes API) runs only when the
    // feed reports a change since the token kept here.
    up: (db) => [db.schema.alterTable('automations').addColumn('change_token', 'text')],
  },
  {
    version: 10,
    name: 'one index of items by content',
    // items_by_sha (sha256, org_id) answers every lookup by content that items_blob (sha256) answered
    // (blob GC, search's owners); every item written paid for both.
    up: (db) => [db.schema.dropIndex('items_blob')],
  },
  {
    version: 11,
    name: 'search chunks kept whole in their rows (PostgreSQL)',
    // A chunk's row (its text and its tsvector, about 5 KB) went past PostgreSQL's 2 KB TOAST threshold, so
    // ranking a query that most chunks match read every tsvector back from the TOAST table: 37 ms for a
    // two-word query over 10,000 chunks, against 7.8 ms with the rows kept whole (about 30% more disk).
    // Rows written before keep their old layout (the setting applies to rows written from now on).
    // The largest target a page allows is the block size less its header (8160 with 8 KB pages); a server
    // that refuses the option keeps the default layout rather than failing its start.
    up: (db, dialect) =>
      dialect === 'postgres'
        ? [
            {
              compile: () =>
                sql
                  .raw(
                    `DO $$ BEGIN EXECUTE format('ALTER TABLE text_chunks SET (toast_tuple_target = %s)', current_setting('block_size')::int - 32); EXCEPTION WHEN invalid_parameter_value THEN NULL; END $$`,
                  )
                  .compile(db),
            },
          ]
        : [],
  },
  {
    version: 12,
    name: 'texts of several chunks',
    // One entry per text cut into several chunks. A search of several words asks whether the store holds
    // any such text: when none does, a chunk that matches every word is exactly an item that does, and
    // the search ranks the chunks of its whole query rather than those of any of its words.
    up: (db) => [db.schema.createIndex('text_chunks_continued').on('text_chunks').column('sha256').where(sql.ref('seq'), '=', 1)],
  },
  {
    version: 13,
    name: 'chunk to text, covered (SQLite)',
    // A search of several words over texts of several chunks maps each matching chunk (an FTS5 row id) to
    // its text. From the table that reads a page per chunk, since a row holds its whole 2-4 KB body; from
    // this index (about 80 bytes an entry) it is 2.7 times faster (3.8 against 10.4 ms for two common words
    // over 7,500 chunks). PostgreSQL reads the sha256 from the row it matched anyway.
    up: (db, dialect) => (dialect === 'postgres' ? [] : [db.schema.createIndex('text_chunks_id_sha').on('text_chunks').columns(['id', 'sha256'])]),
  },
  {
    version: 14,
    name: 'job end written',
    // 0 while a finalized job's end (its log line, its connector's health) is not written yet: long polls
    // wait for it, and a process that died before writing it leaves the job's lease to another, which
    // writes it. Jobs finalized before keep 1.
    // Every engine tick looks for unended jobs: the partial index holds only those (a few at a time).
    up: (db) => [db.schema.alterTable('jobs').addColumn('ended', 'integer', (c) => c.notNull().defaultTo(1)), db.schema.createIndex('jobs_unended').on('jobs').column('lease_expires').where(sql.ref('ended'), '=', 0)],
  },
  {
    version: 15,
    name: 'file run alone',
    // 1 once the worker holding a file started it with nothing else in flight (its last holder died while
    // working on it, maybe of another file): a lease that lapses then is the file's own doing and counts
    // as an attempt; one that lapses beside other files does not (see claimFiles).
    up: (db) => [db.schema.alterTable('job_files').addColumn('alone', 'integer', (c) => c.notNull().defaultTo(0))],
  },
  {
    version: 16,
    name: 'index item deleted',
    // When an item was last deleted from the index (delete_item): a scheduled import whose change feed
    // is quiet still runs when it happened after its previous run began, which may have committed it.
    up: (db) => [db.schema.alterTable('indexes').addColumn('item_deleted_at', 'text')],
  },
  {
    version: 17,
    name: 'full-text index of folded text (SQLite)',
    // SQLite's index holds each chunk's words as foldText (shared/search-words.ts) folds them, split by
    // FTS5's ascii tokenizer (spaces only, once folded), as PostgreSQL's tsv does: both stores then cut
    // and fold words alike by construction. unicode61 did it by Unicode 6.1's tables: it kept
    // private-use characters (a PDF's symbol-font bullet) inside words and did not fold letters newer
    // than 6.1 (Georgian Mtavruli, lower-case Cherokee), which PostgreSQL did. cp_fold is foldText,
    // registered on every connection (sqlite.ts); it is deterministic, so a deleted chunk's words are
    // the ones its insertion indexed.
    up: (db, dialect) => (dialect === 'postgres' ? [] : refoldSqlite(db)),
  },
  {
    version: 18,
    name: 'search words folded again',
    // shared/search-words.ts folds by new rules: NFC first, Greek final sigma and diacritics, Arabic
    // harakat and Hebrew points dropped, Indic and Thai marks kept inside their words, soft hyphens and
    // zero-width joiners removed. Every chunk's words are computed again, or a query folded the new way
    // would miss words indexed the old way (and SQLite's delete trigger would remove words the chunk's
    // insertion never indexed).
    up: (db, dialect) => (dialect === 'postgres' ? [] : refoldSqlite(db)),
    rewritePostgres: refoldPostgres,
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * A database migrated by a newer build is refused: this build would read and write it by older rules
 * (a rolling upgrade's old worker silently losing items, say).
 */
export function refuseNewerSchema(current: number, field: '--database-url' | '--data-dir'): void {
  if (current <= LATEST_VERSION) return;
  throw new CloudportError('config_invalid', `the database's schema is version ${current}, newer than this build's ${LATEST_VERSION}: a newer cloudport migrated it`, {
    field,
    fix: 'Run the same (newer) cloudport version as the processes that migrated it; an older build must not work on it.',
  });
}
export { sql };
