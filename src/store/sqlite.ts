import fs from 'node:fs';
import Database from 'better-sqlite3';
import { Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, DummyDriver, type Compilable } from 'kysely';
import type { DB } from './schema.js';
import { MIGRATIONS, refuseNewerSchema } from './migrations.js';
import { KyselyStore } from './kysely-store.js';
import { params, type Op, type Tx } from './ops.js';
import { foldText } from '../shared/search-words.js';

/** Builds (never runs) SQLite queries. */
export function sqliteQueryBuilder(): Kysely<DB> {
  return new Kysely<DB>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  });
}

/**
 * Makes a file readable by its owner only (0600, like master.key): the database holds encrypted
 * credentials, API key hashes and every file's metadata. The file is created before SQLite opens it,
 * since SQLite creates with 0644 less the umask; chmod also tightens a file an earlier version left open.
 */
function ownerOnly(file: string, create: boolean): void {
  let fd: number;
  try {
    fd = fs.openSync(file, create ? fs.constants.O_RDWR | fs.constants.O_CREAT : fs.constants.O_RDONLY, 0o600);
  } catch (e) {
    if (!create && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    if ((fs.fstatSync(fd).mode & 0o777) !== 0o600) fs.fchmodSync(fd, 0o600);
  } catch (e) {
    // Another user's file (an operator's choice) is used as it is, as before.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The embedded store: SQLite through better-sqlite3. The store methods (KyselyStore, shared with
 * PostgreSQL) run synchronously: a write inside one `BEGIN IMMEDIATE` transaction, so several
 * processes on one data dir serialize their writes and never claim the same file twice.
 */
export class SqliteStore extends KyselyStore {
  readonly dialect = 'sqlite' as const;
  protected readonly qb = sqliteQueryBuilder();
  private readonly db: Database.Database;
  private readonly cache = new Map<string, Database.Statement>();
  private readonly writeTx: Database.Transaction<(gen: Tx<unknown>) => unknown>;

  /** `maxPageCount` (tests only): caps the database's size on this connection, so a test sees SQLITE_FULL without filling a disk. */
  constructor(path: string, opts: { maxPageCount?: number } = {}) {
    super();
    ownerOnly(path, true);
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // SQLite gives the log and the shared-memory index its database's mode, but only when it creates them.
    for (const side of [`${path}-wal`, `${path}-shm`]) ownerOnly(side, false);
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('synchronous = NORMAL');
    this.writeTx = this.db.transaction((gen: Tx<unknown>) => this.drive(gen));
    // The full-text index's words (migration 17): every connection that writes chunks needs it.
    this.db.function('cp_fold', { deterministic: true }, (s: unknown) => (typeof s === 'string' ? foldText(s) : s));
    try {
      this.migrate();
    } catch (e) {
      this.db.close();
      throw e;
    }
    if (opts.maxPageCount) this.db.pragma(`max_page_count = ${Math.floor(opts.maxPageCount)}`);
  }

  private stmt(sqlText: string): Database.Statement {
    let s = this.cache.get(sqlText);
    if (!s) {
      s = this.db.prepare(sqlText);
      this.cache.set(sqlText, s);
    }
    return s;
  }

  private execOp(op: Op): unknown {
    if (op.op === 'all') {
      const c = op.q.compile();
      const s = this.stmt(c.sql);
      const p = params(c.parameters);
      return s.reader ? s.all(...p) : (s.run(...p), []);
    }
    if (op.op === 'run') {
      const c = op.q.compile();
      return this.stmt(c.sql).run(...params(c.parameters)).changes;
    }
    if (op.op === 'lock') return undefined; // the write transaction already holds the database's only write lock
    throw new Error('a SQLite transaction is synchronous: it cannot wait for a promise');
  }

  /** Runs a store generator to its end, synchronously. */
  private drive<T>(gen: Tx<T>): T {
    let r = gen.next();
    while (!r.done) {
      let v: unknown;
      try {
        v = this.execOp(r.value);
      } catch (e) {
        r = gen.throw(e);
        continue;
      }
      r = gen.next(v);
    }
    return r.value;
  }

  protected exec<T>(mode: 'tx' | 'auto', body: () => Tx<T>): Promise<T> {
    try {
      return Promise.resolve(mode === 'tx' ? (this.writeTx.immediate(body()) as T) : this.drive(body()));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  // Synchronous helpers (for SQLite-only code; store methods belong in KyselyStore so PostgreSQL has them too).
  protected all<T>(q: Compilable<T>): T[] {
    return this.execOp({ op: 'all', q }) as T[];
  }

  protected one<T>(q: Compilable<T>): T | null {
    return this.all(q)[0] ?? null;
  }

  protected run(q: Compilable): number {
    return this.execOp({ op: 'run', q }) as number;
  }

  protected tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    this.tx(() => {
      const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
      const current = row.v ?? 0;
      refuseNewerSchema(current, '--data-dir');
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        for (const q of m.up(this.qb, 'sqlite')) this.db.exec(q.compile().sql);
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
      }
    });
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
