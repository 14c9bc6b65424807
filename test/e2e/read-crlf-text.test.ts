import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAll, startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * read_item answers a header line, a blank line, then the text itself with real newlines: a Windows text
 * or CSV (CRLF line ends) reads with plain line breaks, not an escaped "\x0d" at the end of every line
 * (a lone CR stays escaped: it could overwrite a line).
 */
let env: S3Env;
let cp: Running;
beforeAll(async () => {
  env = await startS3Env(['docs']);
  const csv = ['id,name', ...Array.from({ length: 50 }, (_, i) => `${i},name${i}`)].join('\r\n') + '\r\n';
  await env.s3.put('docs', 'rows.csv', csv, { contentType: 'text/csv' });
  cp = await startCloudport({ dataDir: tempDir() });
  await importAll(cp, env.connector('docs'), 'docs');
}, 120_000);
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('read_item of a text with CRLF line ends', () => {
  it('shows CRLF line ends as line breaks, not as a \\x0d escape on every line', async () => {
    const r = await cp.call('read_item', { index: 'docs', key: 'rows.csv' });
    expect(r.isError).toBe(false);
    const body = r.text.slice(r.text.indexOf('\n\n') + 2);
    expect(body).not.toContain('\\x0d');
    expect(body.split('\n').slice(0, 3).map((l) => l.replace(/\r$/, ''))).toEqual(['id,name', '0,name0', '1,name1']);
  });
});
