/**
 * Following "Run it for a team" on PostgreSQL, the operator runs `cloudport keys create --org acme
 * --database-url …` first, then the front doors with the team's CLOUDPORT_MASTER_KEY (as "PostgreSQL
 * store" asks of every process). keys create encrypts nothing: it neither makes nor records a master key,
 * so the front doors start with the team's.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pgSchema } from '../helpers/pg.js';
import { runCli, tempDir } from '../helpers/cloudport.js';
import { startHttpServer } from '../helpers/http.js';

const db = pgSchema('rvkeys');

describe('keys create before the front doors on PostgreSQL', () => {
  it('a front door with the team master key starts after `cloudport keys create` (run without one) on a new database', async () => {
    const url = db.url();
    const k = await runCli(['keys', 'create', '--org', 'acme', '--database-url', url, '--data-dir', tempDir()]);
    if (k.code !== 0) {
      // Refusing is acceptable if it says which setting is missing.
      expect(k.stderr).toMatch(/CLOUDPORT_MASTER_KEY/);
      return;
    }
    const masterKey = randomBytes(32).toString('base64');
    let err = '';
    const fd = await startHttpServer(tempDir(), ['--workers', '0', '--database-url', url], { CLOUDPORT_MASTER_KEY: masterKey }).catch((e: Error) => {
      err = e.message;
      return null;
    });
    if (fd) {
      db.procs.push(fd.proc);
      await fd.stop();
    }
    expect(err, 'the front door refused to start').toBe('');
  });
});
