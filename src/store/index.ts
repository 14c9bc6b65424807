import { CloudportError } from '../shared/errors.js';
import fs from 'node:fs';
import path from 'node:path';
import type { Store } from './types.js';

export type { Store } from './types.js';

export interface StoreOptions {
  /** The data dir: holds the SQLite database when no database URL is given. */
  dataDir: string;
  /** postgres://… selects the PostgreSQL store (a `schema` query parameter picks the schema); null or empty: SQLite in the data dir. */
  databaseUrl?: string | null;
  /** PostgreSQL pool size (default 10). */
  poolMax?: number;
  /** PostgreSQL: a session idle inside a transaction this long is ended by the server (default 60 s). */
  idleInTransactionMs?: number;
  /** Tests only (CLOUDPORT_SQLITE_MAX_PAGE_COUNT): the SQLite store may not grow past this many pages. */
  sqliteMaxPageCount?: number;
}

/** Opens the store the configuration asks for; pending migrations run before it returns. Drivers load only when used. */
export async function openStore(opts: StoreOptions): Promise<Store> {
  if (opts.databaseUrl) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(opts.databaseUrl, { max: opts.poolMax, ...(opts.idleInTransactionMs ? { idleInTransactionMs: opts.idleInTransactionMs } : {}) });
  }
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const { SqliteStore } = await import('./sqlite.js');
  const file = path.join(opts.dataDir, 'cloudport.db');
  try {
    return new SqliteStore(file, { maxPageCount: opts.sqliteMaxPageCount });
  } catch (e) {
    // A file that is no database, or a damaged one: the operator's to look at, named with the way out.
    const code = (e as { code?: string }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new CloudportError('config_invalid', `${file} is ${code === 'SQLITE_NOTADB' ? 'not a SQLite database' : 'a damaged SQLite database'}`, {
        field: '--data-dir',
        fix: `Restore it from a backup, or move it away (cloudport then starts a new, empty store there), or give another --data-dir.`,
      });
    }
    throw e;
  }
}

/** Where the store lives, for messages (never the URL's password). */
export function describeStore(opts: StoreOptions): string {
  if (!opts.databaseUrl) return path.join(opts.dataDir, 'cloudport.db');
  try {
    const u = new URL(opts.databaseUrl);
    const schema = u.searchParams.get('schema');
    return `PostgreSQL ${u.hostname}${u.port ? ':' + u.port : ''}${u.pathname}${schema ? ` (schema ${schema})` : ''}`;
  } catch {
    return 'PostgreSQL';
  }
}
