import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * CLOUDPORT_EXTRACT_MAX_TEXT_BYTES counts bytes of extracted text ("bytes of text kept per item; beyond
 * it text_status is truncated"). A UTF-16 export (Excel's "Unicode Text") whose text fits the limit is
 * kept whole and reads "extracted": its last word is found by search_index and read by read_item. The
 * limit is not applied to the UTF-16 input bytes, which are twice the text's for ASCII.
 */
describe('UTF-16 text under the text limit', () => {
  let env: S3Env;
  let cp: Running;
  // 18,000 characters of ASCII: 36,002 bytes stored in UTF-16LE, 18,000 bytes of text, under the 20,000-byte limit.
  const text = 'word '.repeat(3598) + 'u16tailword\r\n';
  beforeAll(async () => {
    env = await startS3Env(['u16']);
    await env.s3.put('u16', 'export.txt', Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(text, 'utf-16le')]), { contentType: 'text/plain' });
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_EXTRACT_MAX_TEXT_BYTES: '20000' } });
    const id = (await cp.ok('create_connector', env.connector('u16'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'u16' })).job_id);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('keeps the whole text, says extracted, and finds its last word', async () => {
    expect(Buffer.byteLength(text)).toBeLessThan(20000);
    const read = await cp.ok('read_item', { index: 'u16', key: 'export.txt', length: 256 * 1024 });
    expect({ status: read.text_status, bytes: read.text_bytes, note: read.note }).toEqual({ status: 'extracted', bytes: Buffer.byteLength(text), note: undefined });
    expect(read.text).toBe(text);
    const found = await cp.ok('search_index', { index: 'u16', query: 'u16tailword' });
    expect(found.results.map((r: { key: string }) => r.key)).toEqual(['export.txt']);
  });
});
