import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * HTML in an 8-bit encoding that declares no charset (an old intranet page saved as Latin-1 /
 * Windows-1252, served as plain text/html) is read as browsers read it, from Windows-1252, as the
 * README promises for 8-bit text without a declared charset: its accented words are found by search
 * (café, Genève, Menü) and read_item shows them, not U+FFFD.
 */
describe('HTML in Windows-1252 without a declared charset', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['legacy']);
    const page = '<!DOCTYPE html><html><head><title>Menü</title></head><body><p>Café crème brûlée à Genève “today”</p></body></html>';
    await env.s3.put('legacy', 'old/menu.htm', iconv.encode(page, 'windows-1252'), { contentType: 'text/html' });
    cp = await startCloudport({ dataDir: tempDir() });
    const id = (await cp.ok('create_connector', env.connector('legacy'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'legacy' })).job_id);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('reads the accented words and finds them', async () => {
    const read = await cp.ok('read_item', { index: 'legacy', key: 'old/menu.htm' });
    expect(read.text).not.toContain('\uFFFD');
    expect(read.text).toContain('Café crème brûlée à Genève “today”');
    for (const q of ['cafe', 'geneve', 'menü']) {
      const found = await cp.ok('search_index', { index: 'legacy', query: q });
      expect({ q, keys: found.results.map((r: { key: string }) => r.key) }).toEqual({ q, keys: ['old/menu.htm'] });
    }
  });
});
