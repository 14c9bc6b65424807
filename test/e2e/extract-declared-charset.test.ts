import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAll, startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * README: text in an 8-bit encoding is decoded from the charset its content type names. A KOI8-R
 * note is almost all bytes above 0x7F, which without a declared charset reads as binary; its content
 * type's `charset=koi8-r` is what makes the import send it to extraction at all (the main thread's
 * check that iconv-lite knows the label: iconv-lite loads there on first use), and what decodes it.
 * Such bytes without a charset are recorded as binary. (A text is kept per content, so the two
 * objects differ.)
 */
describe('8-bit text whose content type declares its charset', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['koi']);
    const note = (s: string) => iconv.encode(s, 'koi8-r');
    await env.s3.put('koi', 'declared.txt', note('Привет, мир. Отчёт о продажах за декабрь: выручка выросла.\n'), { contentType: 'text/plain; charset=KOI8-R' });
    await env.s3.put('koi', 'undeclared.txt', note('Привет, мир. Отчёт о продажах за ноябрь: выручка упала.\n'), { contentType: 'text/plain' });
    cp = await startCloudport({ dataDir: tempDir() });
    await importAll(cp, env.connector('koi'), 'koi');
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('extracts the declared one, and finds and reads its words', async () => {
    const found = await cp.ok('search_index', { index: 'koi', query: 'выручка' });
    expect(found.results.map((r: { key: string; text_status: string }) => [r.key, r.text_status])).toEqual([['declared.txt', 'extracted']]);
    const read = await cp.ok('read_item', { index: 'koi', key: 'declared.txt' });
    expect(read.text).toContain('Отчёт о продажах');
  });

  it('records such bytes without a charset as binary', async () => {
    const read = await cp.ok('read_item', { index: 'koi', key: 'undeclared.txt' });
    expect(read.text_status).toBe('unsupported');
  });
});
