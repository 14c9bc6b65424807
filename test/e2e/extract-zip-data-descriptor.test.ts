/**
 * A DOCX written by a streaming writer (Java's ZipOutputStream: Apache POI, docx4j) records each entry's
 * sizes after its data (data descriptors), and may embed a workbook, itself a zip. The zip-bomb check
 * inflates what the extractors read from the sizes of the central directory, so such a document is
 * extracted like any other.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXTRACT_LIMITS, ExtractPool } from '../../src/core/search/extract/pool.js';
import { handZip } from '../helpers/documents.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-rv-zipdd-'));
const pool = new ExtractPool(DEFAULT_EXTRACT_LIMITS, 1);
afterAll(async () => {
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Deterministic incompressible bytes. */
function noise(n: number, seed = 'seed'): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0, len = 0; len < n; i++, len += 32) parts.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(parts).subarray(0, n);
}

/** A zip whose deflated entries all use a data descriptor (bit 3), as java.util.zip.ZipOutputStream writes them. */
const zipWithDataDescriptors = (files: Record<string, Buffer>) => handZip(Object.entries(files).map(([name, content]) => ({ name, content, descriptor: true })));

const CT = `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`;
const RELS = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`;
const DOC = `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>quarterly wombat report</w:t></w:r></w:p></w:body></w:document>`;

describe('DOCX written with data descriptors (Java ZipOutputStream) and an embedded workbook', () => {
  // An embedded Excel object, as Word keeps it: a zip of its own (its picture incompressible, stored).
  const embedded = Buffer.from(zipSync({ 'xl/workbook.xml': strToU8('<workbook/>'), 'xl/media/image1.png': [noise(100_000), { level: 0 }] }));
  const docx = zipWithDataDescriptors({
    '[Content_Types].xml': Buffer.from(CT),
    '_rels/.rels': Buffer.from(RELS),
    'word/document.xml': Buffer.from(DOC),
    'word/embeddings/Microsoft_Excel_Worksheet.xlsx': embedded,
  });

  it('is a valid zip: every entry reads back whole', () => {
    const back = unzipSync(docx);
    expect(Buffer.from(back['word/embeddings/Microsoft_Excel_Worksheet.xlsx']!).equals(embedded)).toBe(true);
    expect(Buffer.from(back['word/document.xml']!).toString()).toBe(DOC);
  });

  it('is extracted, not failed as damaged', async () => {
    const file = path.join(dir, 'report.docx');
    fs.writeFileSync(file, docx);
    const r = await pool.extract({ path: file, contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', key: 'reports/report.docx' });
    expect({ status: r.status, detail: r.detail }).toEqual({ status: 'extracted', detail: null });
    expect(r.text).toContain('quarterly wombat report');
  });
});
