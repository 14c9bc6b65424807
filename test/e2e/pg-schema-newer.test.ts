import { randomBytes } from 'node:crypto';
import { pgSchema } from '../helpers/pg.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import Database from 'better-sqlite3';
import { spawnReady, tempDir } from '../helpers/cloudport.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { LATEST_VERSION } from '../../src/store/migrations.js';

/**
 * Rolling upgrade of a team deployment: once a newer build has migrated the shared database, a process of
 * an older build (a worker not yet replaced, an old image rescheduled) refuses to start rather than work
 * on a schema it does not know (an older worker on a newer database left deduped keys without items and
 * items without search text). The "newer build" is a schema_migrations row one version past this build's
 * newest; SQLite's data dir is refused the same way.
 */
const MASTER_KEY = randomBytes(32).toString('base64');

describe('schema newer than this build', () => {
  const { schema, admin, procs, url: urlOf } = pgSchema('cp_newer');
  const url = urlOf();

  it('a worker refuses to start on a database migrated by a newer build', async () => {
    const args = (dir: string) => ['worker', '--data-dir', dir, '--workers', '1', '--database-url', url, '--blob-store', `${dir}/blobs`];
    const first = await spawnReady(args(tempDir()), { CLOUDPORT_MASTER_KEY: MASTER_KEY }, 'cloudport worker ready', { track: (p) => procs.push(p) });
    first.proc.kill('SIGTERM');
    await first.exited;
    const max = Number((await admin.query(`SELECT MAX(version) AS v FROM ${schema}.schema_migrations`)).rows[0].v);
    await admin.query(`INSERT INTO ${schema}.schema_migrations (version, name, applied_at) VALUES ($1, 'from a newer build', $2)`, [max + 1, new Date().toISOString()]);
    const second = await spawnReady(args(tempDir()), { CLOUDPORT_MASTER_KEY: MASTER_KEY }, 'cloudport worker ready', { track: (p) => procs.push(p) }).then(
      (w) => { w.proc.kill('SIGTERM'); return 'started'; },
      (e: Error) => e.message,
    );
    expect(second).toMatch(/exited 1/);
    expect(second).toMatch(/newer|version/i);
  });

  it('a SQLite data dir migrated by a newer build is refused too', async () => {
    const file = path.join(tempDir(), 'cloudport.db');
    new SqliteStore(file).close();
    const db = new Database(file);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from a newer build', ?)").run(LATEST_VERSION + 1, new Date().toISOString());
    db.close();
    expect(() => new SqliteStore(file)).toThrow(expect.objectContaining({ kind: 'config_invalid', field: '--data-dir', message: expect.stringMatching(/newer than this build/) }));
  });
});
