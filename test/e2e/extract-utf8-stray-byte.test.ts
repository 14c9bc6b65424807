import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAll, startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * UTF-8 text with a stray byte in its first 8 KiB (the sniffed head) stays UTF-8, as it does past the
 * head: the byte becomes U+FFFD and the rest keeps its words. A UTF-8 CSV with a few accents is not
 * decoded as Windows-1252 ("ZÃ¼rich"), and UTF-8 prose dense in accents is not called binary. read_item
 * {raw: true} says which bytes it read: its range ends where next_offset continues.
 */
let env: S3Env;
let cp: Running;
const rows = Array.from({ length: 40 }, (_, i) => `Montréal,row ${i} ordinary note`).join('\n');

beforeAll(async () => {
  env = await startS3Env(['docs']);
  // A CSV in UTF-8 with one stray Latin-1 no-break space (0xA0) on its second line.
  await env.s3.put('docs', 'export.csv', Buffer.concat([Buffer.from('city,note\nZürich,first', 'utf8'), Buffer.from([0xa0]), Buffer.from(`\n${rows}\n`, 'utf8')]), { contentType: 'text/csv' });
  // French prose in UTF-8 with one stray 0xFF byte near its start.
  await env.s3.put('docs', 'prose.txt', Buffer.concat([Buffer.from('Ça été déjà vu à Zürich. ', 'utf8'), Buffer.from([0xff]), Buffer.from(' Élève née à Montréal, où ça été déjà. '.repeat(50), 'utf8')]), { contentType: 'text/plain' });
  cp = await startCloudport({ dataDir: tempDir() });
  await importAll(cp, env.connector('docs'), 'docs');
}, 120_000);
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

const keys = async (query: string) => ((await cp.ok('search_index', { query })).results as { key: string }[]).map((r) => r.key).sort();

describe('UTF-8 text with one stray byte near its start', () => {
  it('a UTF-8 CSV with a stray byte is read as UTF-8 (one U+FFFD), not as Windows-1252 mojibake, and its accented words are found', async () => {
    // Observed: read_item text "city,note\nZÃ¼rich,first \ncity,note\nMontrÃ©al,row 0 …"; search "montreal" → no item matches.
    const read = await cp.ok('read_item', { index: 'docs', key: 'export.csv', length: 60 });
    expect(read.text).toContain('Zürich,first\uFFFD');
    expect(read.text).not.toContain('Ã');
    // (prose.txt names both cities too: "first" is the CSV's alone.)
    expect(await keys('montreal first')).toEqual(['export.csv']);
    expect(await keys('zurich first')).toEqual(['export.csv']);
    expect(await keys('montreal')).toEqual(['export.csv', 'prose.txt']);
  });

  it('UTF-8 prose dense in accents with a stray byte keeps its text: searchable and readable', async () => {
    // Observed: "prose.txt: binary content (text/plain); not shown as text, 2.5 KiB, text_status unsupported".
    const read = await cp.call('read_item', { index: 'docs', key: 'prose.txt', length: 80 });
    expect(read.data.text_status).toBe('extracted');
    expect(read.text).toContain('Ça été déjà vu à Zürich. \uFFFD');
    expect(await keys('eleve montreal')).toEqual(['prose.txt']);
  });

  it('raw: true says which bytes it read: the header range ends where next_offset continues', async () => {
    // Observed: "export.csv: bytes 0-122 of 1265 (text/csv); more from next_offset 120" (the U+FFFD counted as 3 bytes).
    const r = await cp.call('read_item', { index: 'docs', key: 'export.csv', length: 120, raw: true });
    const m = /bytes (\d+)-(\d+) of \d+ .*next_offset (\d+)/.exec(r.text.split('\n')[0]!);
    expect(m, r.text.split('\n')[0]).not.toBeNull();
    expect(Number(m![2])).toBe(Number(m![3]));
  });
});
