import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startGcsServer } from '../support/gcs-server.mjs';
import { FIXTURE_SA } from '../providers/gcs.fixture.js';

/**
 * start_import's selection on the loopback GCS server, driven over stdio: modified_after compares dates
 * (not their text) and refuses what is no ISO date, exclude globs are checked like pattern, parentheses
 * in a glob are literal characters of a key, the no-match hint counts what exclude left out, a replay of
 * an idempotency_key answers the counts the first call gave, and a folder marker named in keys is not
 * reported as "unchanged". GCS's ARCHIVE class is shown by browse but, unlike S3's Glacier tiers, not
 * said to need a restore (its bytes read at once), and it imports.
 */
describe('start_import selection (gcs)', () => {
  let s: any;
  let cp: Running;
  let conn: string;
  beforeAll(async () => {
    s = await startGcsServer();
    s.createBucket('qa-sel');
    for (const k of ['d/a.txt', 'd/b.txt', 'd/./dot.txt', 'd/../up.txt']) await s.put('qa-sel', k, `content of ${k}`);
    for (const k of ['p/report (1).txt', 'p/report 1.txt', 'p/sub(2)/f.txt', 'p/x.txt']) await s.put('qa-sel', k, `content of ${k}`);
    await s.put('qa-sel', 'm/dir/', '');
    await s.put('qa-sel', 'm/file.txt', 'file');
    await s.put('qa-sel', 'cold/a.txt', 'archived words', 'text/plain', { storageClass: 'ARCHIVE' });
    cp = await startCloudport({ dataDir: tempDir() });
    conn = (await cp.ok('create_connector', { name: uniqueName(), provider: 'gcs', bucket: 'qa-sel', endpoint: s.endpoint, credentials: { type: 'service_account', json: FIXTURE_SA } })).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await s?.stop();
  });

  it('modified_after in the year 10000 selects no object modified now (dates are compared as dates, not as text)', async () => {
    const r = await cp.call('start_import', { connector_id: conn, index: 'sel-future', prefix: 'd/', modified_after: '+010000-01-01T00:00:00Z', dry_run: true });
    expect(r.isError, r.text).toBe(false);
    expect(r.data.accepted).toBe(0);
  });

  it('modified_after that is no calendar date ("2025-02-30", "1") is config_invalid, not read as some other date', async () => {
    for (const bad of ['2025-02-30', '1']) {
      const r = await cp.call('start_import', { connector_id: conn, index: 'sel-bad-date', prefix: 'd/', modified_after: bad, dry_run: true });
      expect(r.isError, `${bad}: ${r.text}`).toBe(true);
      expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: 'modified_after' });
    }
  });

  it('an exclude glob that is not valid ("[unclosed") is config_invalid on exclude, as the same pattern is', async () => {
    const p = await cp.call('start_import', { connector_id: conn, index: 'sel-exc', prefix: 'd/', pattern: '[unclosed', dry_run: true });
    expect(p.data.error).toMatchObject({ kind: 'config_invalid', field: 'pattern' });
    const r = await cp.call('start_import', { connector_id: conn, index: 'sel-exc', prefix: 'd/', exclude: ['[unclosed'], dry_run: true });
    expect(r.isError, r.text).toBe(true);
    expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: expect.stringMatching(/^exclude/) });
  });

  it('exclude "report (1).txt" leaves out that key only, not "report 1.txt" (parentheses are literal)', async () => {
    const r = await cp.ok('start_import', { connector_id: conn, index: 'sel-paren', prefix: 'p/', exclude: ['report (1).txt'], dry_run: true });
    expect(r.accepted).toBe(3);
    const b = await cp.ok('browse_connector', { connector_id: conn, prefix: 'p/', pattern: 'report (1).txt' });
    expect(b.objects.map((o: { key: string }) => o.key)).toEqual(['p/report (1).txt']);
  });

  it('pattern "sub(2)/*" selects the key "p/sub(2)/f.txt"', async () => {
    const r = await cp.call('start_import', { connector_id: conn, index: 'sel-paren2', prefix: 'p/', pattern: 'sub(2)/*', dry_run: true });
    expect(r.isError, r.text).toBe(false);
    expect(r.data.accepted).toBe(1);
  });

  it('the no-match hint of exclude "**" counts every object it left out, keys with "." or ".." segments too', async () => {
    const r = await cp.ok('start_import', { connector_id: conn, index: 'sel-hint', prefix: 'd/', exclude: ['**'], dry_run: true });
    expect(r.accepted).toBe(0);
    expect(r.hint).toMatch(/exclude left out 4\b/);
  });

  it('a replay of an idempotency_key answers the accepted count and sample of the first call (failed files apart)', async () => {
    const args = { connector_id: conn, index: 'sel-replay', keys: ['d/a.txt', 'd/missing.txt'], idempotency_key: uniqueName('rk') };
    const first = await cp.ok('start_import', args);
    expect(first).toMatchObject({ accepted: 1, failed: 1, sample: ['d/a.txt'] });
    await waitForJob(cp, first.job_id);
    const again = await cp.ok('start_import', args);
    expect(again).toMatchObject({ job_id: first.job_id, replayed: true, failed: 1 });
    expect(again.accepted).toBe(first.accepted);
    expect(again.sample).toEqual(first.sample);
  });

  it('a zero-byte folder marker named in keys is not reported as skipped "(unchanged)" by an import_mode "all" run', async () => {
    const r = await cp.call('start_import', { connector_id: conn, index: 'sel-marker', keys: ['m/dir/', 'm/file.txt'], import_mode: 'all' });
    expect(r.isError, r.text).toBe(false);
    expect(r.text).not.toMatch(/unchanged/);
  });

  it('an object of GCS\'s ARCHIVE class is shown with its class, not said to need a restore, and imports', async () => {
    const b = await cp.call('browse_connector', { connector_id: conn, prefix: 'cold/' });
    expect(b.text).toMatch(/1 in another storage class \(column class\)/);
    expect(b.text).not.toMatch(/restore/);
    expect(b.text).toMatch(/"ARCHIVE"\]/);
    const { job_id } = await cp.ok('start_import', { connector_id: conn, index: 'sel-cold', prefix: 'cold/' });
    const st = await waitForJob(cp, job_id);
    expect(st.status, JSON.stringify(st)).toBe('completed');
  });
});
