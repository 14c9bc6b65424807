import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A soft hyphen (U+00AD, HTML's &shy;) inside a word of a document's extracted text does not split the
 * word: "inter&shy;national" is found by "international", and "national" alone does not find it.
 */
let env: S3Env;
let cp: Running;
beforeAll(async () => {
  env = await startS3Env(['shy']);
  await env.s3.put('shy', 'page.html', '<html><body><p>inter&shy;national ship\u00adping</p></body></html>', { contentType: 'text/html' });
  cp = await startCloudport({ dataDir: tempDir() });
  const id = (await cp.ok('create_connector', env.connector('shy'))).connector.id;
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'shy' })).job_id);
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

it('finds words written with soft hyphens whole, and not their pieces', async () => {
  const keys = async (query: string) => (await cp.ok('search_index', { query })).results.map((r: { key: string }) => r.key);
  expect(await keys('international')).toEqual(['page.html']);
  expect(await keys('shipping')).toEqual(['page.html']);
  expect(await keys('national')).toEqual([]);
  expect((await cp.ok('read_item', { index: 'shy', key: 'page.html' })).text).toContain('international shipping');
});
