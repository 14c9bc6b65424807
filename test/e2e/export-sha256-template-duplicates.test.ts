import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProvider } from '../../src/providers/index.js';
import type { StorageProvider } from '../../src/providers/types.js';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
import { azureFixture } from '../providers/azure-blob.fixture.js';

/**
 * Two items of one index with the same content (a duplicate, `duplicate_of`) under a template that names
 * items by "{sha256}" without "{key}" render one path, which one write fills with their common bytes: the
 * later one in key order counts as skipped (same content as the other, written by it), not as a second
 * export, whatever the overwrite mode, and the dry run shows it skipped.
 */
const fx = azureFixture();
let cp: Running;
let dst: StorageProvider;
let dstConn: string;

async function allKeys(p: StorageProvider, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | null = null;
  do {
    const page = await p.list({ prefix, token });
    out.push(...page.objects.map((o) => o.key));
    token = page.nextToken;
  } while (token);
  return out;
}

beforeAll(async () => {
  await fx.start();
  const src = await fx.createBucket();
  const dstBucket = await fx.createBucket();
  await fx.put(src, 'docs/a.txt', 'same bytes\n', 'text/plain');
  await fx.put(src, 'docs/copy-of-a.txt', 'same bytes\n', 'text/plain');
  const input = fx.connectorInput(dstBucket);
  const def = getProvider('azure_blob');
  dst = await def.open(def.validateLocation({ ...input }), input.credentials as never, { maxSockets: 4, connectTimeoutMs: 5000 });
  cp = await startCloudport({ dataDir: tempDir() });
  const srcConn = (await cp.ok('create_connector', { name: uniqueName('src'), ...fx.connectorInput(src) })).connector.id;
  dstConn = (await cp.ok('create_connector', { name: uniqueName('dst'), ...input, scopes: ['export'], export_base_path: 'out/' })).connector.id;
  const imp = await waitForJob(cp, (await cp.ok('start_import', { connector_id: srcConn, index: 'i' })).job_id);
  expect(imp.counts).toMatchObject({ ready: 1, deduped: 1 });
}, 60_000);
afterAll(async () => {
  dst?.close();
  await cp?.close();
  await fx.stop();
});

describe('export of duplicate items through a {sha256} template', () => {
  it('the dry run shows the later key skipped', async () => {
    const dry = await cp.ok('start_export', { index: 'i', connector_id: dstConn, path_template: 'dry/{sha256}', dry_run: true });
    expect(dry.failed_files).toEqual([]);
    expect(dry).toMatchObject({ accepted: 1, skipped: 1 });
  });

  for (const overwrite of ['always', 'if_changed', 'never'] as const) {
    it(`overwrite ${overwrite}: one object written, so one file counts as exported`, async () => {
      const r = await cp.ok('start_export', { index: 'i', connector_id: dstConn, path_template: `${overwrite}/{sha256}`, overwrite });
      const final = await waitForJob(cp, r.job_id);
      const objects = await allKeys(dst, `out/${overwrite}/`);
      expect(objects).toHaveLength(1);
      expect(final.counts.exported).toBe(objects.length);
      expect(final.counts.failed).toBe(0);
      const skipped = await cp.ok('import_status', { job_id: r.job_id, files_status: 'skipped' });
      expect(skipped.files.map((f: { key: string; error?: string }) => [f.key, f.error])).toEqual([['docs/copy-of-a.txt', expect.stringMatching(/^same content as docs\/a\.txt/)]]);
    });
  }
});
