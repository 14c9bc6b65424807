/**
 * UTF-8 text under a wrong 8-bit charset label (Apache's AddDefaultCharset ISO-8859-1, a us-ascii
 * default, object-store metadata) stays UTF-8: the label decides only for text that is not UTF-8.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXTRACT_LIMITS, ExtractPool } from '../../src/core/search/extract/pool.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-labelled-charset-'));
const pools: ExtractPool[] = [];
afterAll(async () => {
  for (const p of pools) await p.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

let n = 0;
async function extract(bytes: Buffer, contentType: string, key: string) {
  const pool = new ExtractPool(DEFAULT_EXTRACT_LIMITS, 1);
  pools.push(pool);
  const file = path.join(dir, `f${++n}`);
  fs.writeFileSync(file, bytes);
  return pool.extract({ path: file, contentType, key });
}

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
