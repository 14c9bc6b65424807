/**
 * mammoth reads a DOCX's main part wherever _rels/.rels points, whatever its name: the zip-bomb check
 * streams and counts every entry, so a DOCX whose officeDocument relationship targets "word/body.bin",
 * an entry whose directory claims 1000 bytes while it inflates to 24 MiB, is refused at the limit like
 * one named word/document.xml.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXTRACT_LIMITS, ExtractPool } from '../../src/core/search/extract/pool.js';
import { bombPart, handZip } from '../helpers/documents.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-rv-zipname-'));
const MiB = 1024 * 1024;
// 4 MiB of inflated data allowed: the bomb below inflates to 24 MiB.
const pool = new ExtractPool({ ...DEFAULT_EXTRACT_LIMITS, maxInflatedBytes: 4 * MiB }, 1);
afterAll(async () => {
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const highWater = () => Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

const CT = `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/body.bin" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`;
const RELS = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/body.bin"/></Relationships>`;
const TINY = `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>decoy</w:t></w:r></w:p></w:body></w:document>`;

describe('zip-bomb check vs. a DOCX main part not named *.xml', () => {
  it('refuses a DOCX whose officeDocument part (word/body.bin) inflates past the limit while its directory claims 1000 bytes', async () => {
    const docx = handZip([
      { name: '[Content_Types].xml', content: Buffer.from(CT) },
      { name: '_rels/.rels', content: Buffer.from(RELS) },
      { name: 'word/document.xml', content: Buffer.from(TINY) },
      { name: 'word/body.bin', raw: bombPart(400 * MiB), claimed: 1000 },
    ]);
    expect(docx.length).toBeLessThan(MiB);
    const file = path.join(dir, 'bomb.docx');
    fs.writeFileSync(file, docx);
    const before = highWater();
    const r = await pool.extract({ path: file, contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', key: 'bomb.docx' });
    const grew = highWater() - before;
    // The limit is 4 MiB of inflated data: the process must not grow by anything like the bomb's 400 MiB.
    expect(grew, `memory high-water grew by ${Math.round(grew / MiB)} MiB (detail: ${r.detail})`).toBeLessThan(128 * MiB);
    // Expected: refused by the inflated-size limit (4 MiB), as the same bytes named word/document.xml are.
    expect({ status: r.status, detail: r.detail }, `mammoth inflated word/body.bin (text: ${String(r.text ?? '').slice(0, 30)}…)`).toMatchObject({ status: 'failed', detail: expect.stringMatching(/inflates to more than/) });
  }, 60_000);

  it('control: the same bomb named word/document.xml is refused', async () => {
    const RELS2 = RELS.replace('word/body.bin', 'word/document.xml');
    const docx = handZip([
      { name: '[Content_Types].xml', content: Buffer.from(CT.replace('/word/body.bin', '/word/document.xml')) },
      { name: '_rels/.rels', content: Buffer.from(RELS2) },
      { name: 'word/document.xml', raw: bombPart(400 * MiB), claimed: 1000 },
    ]);
    const file = path.join(dir, 'bomb2.docx');
    fs.writeFileSync(file, docx);
    const r = await pool.extract({ path: file, contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', key: 'bomb2.docx' });
    expect({ status: r.status, detail: r.detail }).toMatchObject({ status: 'failed', detail: expect.stringMatching(/inflates to more than/) });
  }, 60_000);
});
