/**
 * gzip-compressed bytes (a GCS object stored with Content-Encoding: gzip, imported as stored) are no
 * text, whatever their content type says: the import's sniffing and the extraction worker both answer
 * "unsupported", never junk as extracted text.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXTRACT_LIMITS, ExtractPool } from '../../src/core/search/extract/pool.js';
// @ts-expect-error plain JS module of the worker's
import { plainlyBinary } from '../../src/core/search/extract/sniff.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-gzip-'));
const pool = new ExtractPool(DEFAULT_EXTRACT_LIMITS, 1);
afterAll(async () => {
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('gzip-compressed content', () => {
  const page = gzipSync(Buffer.from(`<html><body>${'zebra crossing '.repeat(200)}</body></html>`));

  it('is plainly binary to the import, under an HTML type too', () => {
    expect(plainlyBinary(page.subarray(0, 512), 'text/html', 'site/index.html')).toBe(true);
  });

  it('is unsupported to the extraction worker', async () => {
    const file = path.join(dir, 'index.html');
    fs.writeFileSync(file, page);
    const r = await pool.extract({ path: file, contentType: 'text/html', key: 'site/index.html' });
    expect(r).toMatchObject({ status: 'unsupported', detail: 'gzip-compressed' });
  });
});
