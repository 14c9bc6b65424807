import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A UTF-8 text with a few bytes that are not UTF-8 (past its first 8 KiB) is kept as its text with
 * those bytes as U+FFFD, three bytes each: a file that fits the text limit can give a text over it,
 * which is then cut at the limit and says so (truncated, with a note), never "extracted".
 */
describe('text limit after U+FFFD replacement', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['limit']);
    const parts: Buffer[] = [Buffer.from('lorem '.repeat(1400))]; // 8400 bytes of ASCII
    for (let i = 0; i < 9; i++) parts.push(Buffer.from([0xff]), Buffer.from(' ipsum '));
    let body = Buffer.concat(parts);
    const tail = ' finalword';
    body = Buffer.concat([body, Buffer.from('x'.repeat(10_000 - body.length - tail.length)), Buffer.from(tail)]);
    expect(body.length).toBe(10_000); // exactly the text limit below: the file itself is not over it
    await env.s3.put('limit', 'notes.txt', body);
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_EXTRACT_MAX_TEXT_BYTES: '10000' } });
    const id = (await cp.ok('create_connector', env.connector('limit'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'limit' })).job_id);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('either keeps the whole text, or says truncated and where it was cut', async () => {
    const read = await cp.ok('read_item', { index: 'limit', key: 'notes.txt', offset: 9000, length: 100_000 });
    expect(read.next_offset).toBeNull();
    if (read.text_status === 'extracted') {
      // Not cut: the last word is there and searchable.
      expect(read.text.endsWith(' finalword')).toBe(true);
      expect((await cp.ok('search_index', { query: 'finalword' })).results.map((r: { key: string }) => r.key)).toEqual(['notes.txt']);
    } else {
      expect(read.text_status).toBe('truncated');
      expect(read.note).toContain('limit');
    }
  });
});
