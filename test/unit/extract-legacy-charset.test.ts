/**
 * Text that is not UTF-8, through the extraction pool itself (src/core/search/extract/worker.mjs): an
 * 8-bit charset, declared or Windows-1252, is decoded; labels that name no 8-bit encoding are not taken
 * at their word; a decoded text past the text limit is truncated, and says so. UTF-8 under a wrong
 * 8-bit label (Apache's AddDefaultCharset ISO-8859-1, a us-ascii default, object-store metadata) stays
 * UTF-8: the label decides only for text that is not UTF-8.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXTRACT_LIMITS, ExtractPool } from '../../src/core/search/extract/pool.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-legacy-'));
const pools: ExtractPool[] = [];
afterAll(async () => {
  for (const p of pools) await p.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

let n = 0;
async function extract(bytes: Buffer, contentType: string, key: string, limits = DEFAULT_EXTRACT_LIMITS) {
  const pool = new ExtractPool(limits, 1);
  pools.push(pool);
  const file = path.join(dir, `f${++n}`);
  fs.writeFileSync(file, bytes);
  return pool.extract({ path: file, contentType, key });
}

// "café “quoted legacyword”" in Windows-1252.
const cp1252 = Buffer.concat([Buffer.from('caf', 'latin1'), Buffer.from([0xe9, 0x20, 0x93]), Buffer.from('quoted legacyword', 'latin1'), Buffer.from([0x94])]);

describe('8-bit text and its declared charset', () => {
  it('control: no charset label decodes as Windows-1252', async () => {
    const r = await extract(cp1252, 'text/plain', 'note.txt');
    expect(r).toMatchObject({ status: 'extracted', text: 'café “quoted legacyword”' });
  });

  // The bytes are not ASCII/UTF-8 (that is why this path runs), so a label that says they are is wrong:
  // iconv-lite then turns every byte above 0x7f into U+FFFD ("caf\uFFFD" is the word "caf"), with status
  // "extracted" and detail "decoded from us-ascii (not UTF-8)". us-ascii is a common default label.
  it.each(['us-ascii', 'ascii', 'utf_8', 'cesu-8', 'unicode-1-1-utf-8'])('a charset=%s label on bytes that are not ASCII keeps the words (falls back to Windows-1252)', async (label) => {
    const r = await extract(cp1252, `text/plain; charset=${label}`, 'note.txt');
    expect(r.text).not.toContain('\uFFFD');
    expect(r.text).toContain('café');
  });

  // iconv-lite's internal codecs base64 and hex are not character encodings: the "text" becomes the
  // bytes re-encoded (one long "word", e.g. "636166e92093..."), status extracted; the words are lost.
  // (utf-16le / ucs-2 labels likewise pair the bytes into CJK characters, left out here: a real UTF-16
  // CJK text may have no NUL.)
  it.each(['base64', 'hex'])('a charset=%s label does not replace the text by a re-encoding of its bytes', async (label) => {
    const r = await extract(cp1252, `text/plain; charset=${label}`, 'note.txt');
    expect(r.text).toContain('legacyword');
  });

  // Windows-1252 bytes above 0x7f become 2 or 3 bytes of UTF-8: a file under the text limit can decode
  // to more than it. The Sink then cuts the text silently, and the status stays "extracted" (the
  // truncated flag only looks at the file's size), so the end of the document is not searchable while
  // the text status says it was extracted whole.
  it('a decoded text cut at the text limit is reported as truncated, not extracted', async () => {
    const limits = { ...DEFAULT_EXTRACT_LIMITS, maxTextBytes: 4096 };
    // 3,000 bytes of "é" (0xe9) and a last word: 3,010 bytes of input, 6,000+ bytes of text.
    const bytes = Buffer.concat([Buffer.alloc(3000, 0xe9), Buffer.from(' lastword', 'latin1')]);
    // Declared: undeclared, bytes this far above 0x7F would not be taken for text.
    const r = await extract(bytes, 'text/plain; charset=windows-1252', 'big.txt', limits);
    expect(bytes.length).toBeLessThan(limits.maxTextBytes);
    const lost = !r.text.includes('lastword');
    expect({ status: r.status, lost }).toEqual({ status: lost ? 'truncated' : 'extracted', lost });
  });

  // A declared Latin-1 file whose first 8 KB are ASCII and whose accents are rare (under 0.1% of its
  // characters) takes the "a few bad UTF-8 bytes" path: the declared charset is ignored and é becomes
  // U+FFFD, so "Müller" is indexed as "m" + "ller".
  it('a declared charset decides even when the first 8 KB are ASCII', async () => {
    const bytes = Buffer.concat([Buffer.from('x'.repeat(9000) + '\nname M', 'latin1'), Buffer.from([0xfc]), Buffer.from('ller\n' + 'y'.repeat(5000), 'latin1')]);
    const r = await extract(bytes, 'text/csv; charset=iso-8859-1', 'export.csv');
    expect(r.text.includes('Müller') ? 'Müller' : r.text.match(/name .{0,8}/)?.[0]).toBe('Müller');
  });
});

const utf8 = Buffer.from('Le café “Müller” résumé naïve\n', 'utf8');

describe('UTF-8 text under a wrong 8-bit charset label', () => {
  it('control: no label reads UTF-8', async () => {
    const r = await extract(utf8, 'text/plain', 'note.txt');
    expect(r.text).toBe(utf8.toString('utf8'));
  });

  it.each(['iso-8859-1', 'ISO-8859-1', 'windows-1252', 'us-ascii'])('text/plain; charset=%s on valid UTF-8 (accents in the first 8 KB) keeps the UTF-8 text', async (label) => {
    const r = await extract(utf8, `text/plain; charset=${label}`, 'note.txt');
    expect(r.text).toBe(utf8.toString('utf8'));
  });

  it('a UTF-8 file whose first 8 KB are ASCII, labelled iso-8859-1, keeps its later accents', async () => {
    const bytes = Buffer.concat([Buffer.from('x'.repeat(9000) + '\n', 'utf8'), utf8]);
    const r = await extract(bytes, 'text/csv; charset=iso-8859-1', 'export.csv');
    expect(r.text.slice(9001)).toBe(utf8.toString('utf8'));
  });
});
