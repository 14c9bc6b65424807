import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A plain-text file in UTF-16 with a byte order mark, whose content type says text
 * (`text/plain; charset=utf-16`, what Windows tools such as PowerShell and Excel's "Unicode text"
 * export write), is decoded, read and found, as HTML in the same encoding is.
 */
describe('UTF-16 text with a BOM', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['utf16']);
    const le = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
    await env.s3.put('utf16', 'export.txt', le('name\tcity\nCarol\tWombatville\n'), { contentType: 'text/plain; charset=utf-16' });
    await env.s3.put('utf16', 'page.html', le('<html><body><p>Koalaburg page</p></body></html>'), { contentType: 'text/html' });
    cp = await startCloudport({ dataDir: tempDir() });
    const id = (await cp.ok('create_connector', env.connector('utf16'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'utf16' })).job_id);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('reads and finds UTF-16 text as it reads and finds UTF-16 HTML', async () => {
    expect((await cp.ok('search_index', { query: 'koalaburg' })).results.map((r: { key: string }) => r.key)).toEqual(['page.html']);
    const read = await cp.ok('read_item', { index: 'utf16', key: 'export.txt' });
    expect(read.text_status).toBe('extracted');
    expect(read.text).toContain('Carol\tWombatville');
    expect((await cp.ok('search_index', { query: 'wombatville' })).results.map((r: { key: string }) => r.key)).toEqual(['export.txt']);
  });
});
