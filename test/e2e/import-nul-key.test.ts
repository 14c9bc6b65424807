import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { pgSchema } from '../helpers/pg.js';
// @ts-expect-error plain JS test support
import { startGcsServer } from '../support/gcs-server.mjs';
import { FIXTURE_SA } from '../providers/gcs.fixture.js';

/**
 * GCS allows any Unicode in an object name but CR and LF, so "a\u0000b.txt" is a valid name (our GCS
 * server follows that rule). No key in cloudport holds NUL (every tool refuses it, PostgreSQL text cannot
 * store it): the import fails that one file, under its name with NUL written out, and says why; it keeps
 * no item that read_item would refuse, and the rest imports, on SQLite as on PostgreSQL.
 */
describe.each([
  ['sqlite', () => [] as string[]],
  ['pg', () => ['--database-url', pg.url()]],
] as const)('an object whose name holds NUL (%s)', (_name, args) => {
  let gcs: any;
  let cp: Running;
  beforeAll(async () => {
    gcs = await startGcsServer();
    gcs.createBucket('nul-key');
    await gcs.put('nul-key', 'ok.txt', 'plain', 'text/plain');
    await gcs.put('nul-key', 'a\u0000b.txt', 'nul in name', 'text/plain');
    cp = await startCloudport({ dataDir: tempDir(), args: args() });
  });
  afterAll(async () => {
    await cp?.close();
    await gcs?.stop();
  });

  it('fails that file with the reason, keeps no item of it, and imports the rest', async () => {
    const { connector } = await cp.ok('create_connector', { name: 'nul', provider: 'gcs', bucket: 'nul-key', endpoint: gcs.endpoint, credentials: { type: 'service_account', json: FIXTURE_SA } });
    const s = await waitForJob(cp, (await cp.ok('start_import', { connector_id: connector.id, index: 'nul' })).job_id);
    expect(s.counts).toMatchObject({ ready: 1, failed: 1 });
    const items = (await cp.ok('list_index_items', { index: 'nul', limit: 100 })).items.map((i: any) => (Array.isArray(i) ? i[0] : i.key));
    expect(items).toEqual(['ok.txt']);
    expect((await cp.call('read_item', { index: 'nul', key: 'ok.txt' })).text).toContain('plain');
    const failed = (await cp.ok('import_status', { job_id: s.job_id, files_status: 'failed' })).files;
    expect(failed.map((f: any) => [f.key, f.error])).toEqual([['a\\u0000b.txt', expect.stringMatching(/NUL character.*rename the object/)]]);
  });
});
const pg = pgSchema('nul_key');
