import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * HTML's visible text gets a line break at block elements (summary, details, legend, fieldset, caption,
 * dl, form…), so "<summary>Shipping</summary>Ships in two days" is indexed as two lines and "shipping"
 * finds it.
 */
describe('HTML text at block elements', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['html']);
    const page = '<html><body><details><summary>Shipping</summary>Ships in two days.</details><fieldset><legend>Billing</legend>Invoices monthly.</fieldset></body></html>';
    await env.s3.put('html', 'faq.html', page, { contentType: 'text/html' });
    cp = await startCloudport({ dataDir: tempDir() });
    const id = (await cp.ok('create_connector', env.connector('html'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'html' })).job_id);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('keeps words of adjacent block elements apart', async () => {
    const read = await cp.ok('read_item', { index: 'html', key: 'faq.html' });
    expect(read.text).not.toContain('ShippingShips');
    expect((await cp.ok('search_index', { query: 'shipping' })).results.map((r: { key: string }) => r.key)).toEqual(['faq.html']);
    expect((await cp.ok('search_index', { query: 'billing' })).results.map((r: { key: string }) => r.key)).toEqual(['faq.html']);
  });
});
