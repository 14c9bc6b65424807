/**
 * A zip's entries decide DOCX or XLSX only with an Office package's [Content_Types].xml: a plain .zip
 * archive holding a word/ folder stays an unsupported zip archive.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXTRACT_LIMITS, ExtractPool } from '../../src/core/search/extract/pool.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-rv-zipkind-'));
const pool = new ExtractPool(DEFAULT_EXTRACT_LIMITS, 1);
afterAll(async () => {
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a .zip archive with a folder named word/', () => {
  it('stays an unsupported zip archive, not a failed DOCX', async () => {
    const file = path.join(dir, 'site.zip');
    fs.writeFileSync(file, zipSync({ 'readme.txt': strToU8('hi'), 'word/document.xml': strToU8('my notes about word') }));
    const r = await pool.extract({ path: file, contentType: 'application/zip', key: 'backups/site.zip' });
    expect({ status: r.status, detail: r.detail }).toEqual({ status: 'unsupported', detail: 'zip archive' });
  });
});
