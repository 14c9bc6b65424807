import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * README: text in an 8-bit encoding is decoded from the charset its content type names, else from
 * Windows-1252. A Latin-1 CSV export whose first rows are plain ASCII and whose accented names come
 * later (a list sorted by id, 20 KB before the first "Zürich") is such text: it holds no UTF-8
 * sequence at all, only single bytes above 0x7F, so it is decoded from Windows-1252 and "zurich" and
 * "Müller" find it; its names do not become U+FFFD.
 */
describe('Windows-1252 CSV with its accents past the first 8 KiB', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['csv']);
    const rows = ['id,name,city'];
    for (let i = 0; i < 800; i++) rows.push(`${i},Smith ${i},London`);
    for (let i = 800; i < 805; i++) rows.push(`${i},Müller ${i},Zürich`);
    const csv = iconv.encode(rows.join('\r\n') + '\r\n', 'windows-1252');
    await env.s3.put('csv', 'customers.csv', csv, { contentType: 'text/csv' });
    cp = await startCloudport({ dataDir: tempDir() });
    const id = (await cp.ok('create_connector', env.connector('csv'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'csv' })).job_id);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('finds and reads the accented names', async () => {
    for (const q of ['zurich', 'Müller']) {
      const found = await cp.ok('search_index', { index: 'csv', query: q });
      expect({ q, keys: found.results.map((r: { key: string }) => r.key) }).toEqual({ q, keys: ['customers.csv'] });
      const at = found.results[0];
      const read = await cp.ok('read_item', { index: 'csv', key: 'customers.csv', offset: at.offset, length: 200 });
      expect(read.text).toContain('804,Müller 804,Zürich');
    }
  });
});
