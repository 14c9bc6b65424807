import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, uniqueName, type S3Env } from '../helpers/s3env.js';
import type { ProviderFixture } from '../providers/fixture.js';
import { gcsFixture } from '../providers/gcs.fixture.js';
import { azureFixture } from '../providers/azure-blob.fixture.js';

/**
 * README "Exports": overwrite "never" (default) is "a HEAD, then a create-only write (If-None-Match /
 * ifGenerationMatch=0)", and a file ends "skipped" when "the object exists and overwrite says keep it",
 * also when the object appears between the HEAD and the write (another writer): the service refuses the
 * create-only write and the file ends skipped, not failed.
 * (fauxqs ignores If-None-Match on PUT, so this runs against our GCS server and azurite, which honour it.)
 */
let env: S3Env;
let cp: Running;

beforeAll(async () => {
  env = await startS3Env(['src']);
  await env.s3.put('src', 'x.txt', 'our content', { contentType: 'text/plain' });
  cp = await startCloudport({ dataDir: tempDir() });
  const src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i' })).job_id);
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe.each([
  ['gcs', gcsFixture],
  ['azure_blob', azureFixture],
] as [string, () => ProviderFixture][])('create-only write loses a race (%s)', (name, make) => {
  const fx = make();
  beforeAll(() => fx.start());
  afterAll(() => fx.stop());

  it('an object that appears between the HEAD and the write makes the file "skipped", not failed with "unexpected error"', async () => {
    const bucket = await fx.createBucket();
    const conn = (await cp.ok('create_connector', { name: uniqueName(name), ...fx.connectorInput(bucket), scopes: ['export'], export_base_path: 'out/' })).connector.id;
    // Someone else writes the target just before our write reaches the service (after our HEAD found nothing).
    fx.addFault({ op: 'put', keyIncludes: 'x.txt', times: 1, action: { type: 'before', run: () => fx.put(bucket, 'out/x.txt', 'someone else', 'text/plain') } });
    try {
      const r = await cp.ok('start_export', { index: 'i', connector_id: conn, keys: ['x.txt'] });
      const final = await waitForJob(cp, r.job_id);
      const failed = await cp.ok('import_status', { job_id: r.job_id, files_status: 'failed' });
      expect(failed.files).toEqual([]);
      expect(final).toMatchObject({ status: 'completed', counts: { exported: 0, skipped: 1, failed: 0 } });
    } finally {
      fx.clearFaults();
    }
  });
});
