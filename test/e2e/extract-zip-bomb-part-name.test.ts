/**
 * mammoth reads a DOCX's main part wherever _rels/.rels points, whatever its name: the zip-bomb check
 * streams and counts every entry, so a DOCX whose officeDocument relationship targets "word/body.bin",
 * an entry whose directory claims 1000 bytes while it inflates to 24 MiB, is refused at the limit like
 * one named word/document.xml.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXTRACT_LIMITS, ExtractPool } from '../../src/core/search/extract/pool.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-rv-zipname-'));
const MiB = 1024 * 1024;
// 4 MiB of inflated data allowed: the bomb below inflates to 24 MiB.
const pool = new ExtractPool({ ...DEFAULT_EXTRACT_LIMITS, maxInflatedBytes: 4 * MiB }, 1);
afterAll(async () => {
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** `n` bytes of "A" (after a document head) deflated cheaply: 1 MiB blocks flushed and repeated (as test/helpers lyingDocxBomb). */
function bombData(n: number): { data: Buffer; crc: number; size: number } {
  const head = Buffer.from('<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>bombword ');
  const tail = Buffer.from('</w:t></w:r></w:p></w:body></w:document>');
  const fill = Buffer.alloc(MiB, 0x41);
  const sync = (b: Buffer) => zlib.deflateRawSync(b, { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  let crc = zlib.crc32(head);
  const parts = [sync(head)];
  const zfill = sync(fill);
  for (let i = 0; i < n / MiB; i++) {
    crc = zlib.crc32(fill, crc);
    parts.push(zfill);
  }
  crc = zlib.crc32(tail, crc);
  parts.push(zlib.deflateRawSync(tail));
  return { data: Buffer.concat(parts), crc: crc >>> 0, size: head.length + n + tail.length };
}

const highWater = () => Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

/** A zip whose entries' directory sizes are `claimed` (or the truth when absent); `raw`: already deflated. */
function zip(entries: { name: string; content?: Buffer; raw?: { data: Buffer; crc: number; size: number }; claimed?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const data = e.raw ? e.raw.data : zlib.deflateRawSync(e.content!, { level: 9 });
    const crc = e.raw ? e.raw.crc : zlib.crc32(e.content!) >>> 0;
    const size = e.claimed ?? (e.raw ? e.raw.size : e.content!.length);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(8, 8);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(data.length, 18);
    lh.writeUInt32LE(size, 22);
    lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(8, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(data.length, 20);
    ch.writeUInt32LE(size, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    const local = Buffer.concat([lh, name, data]);
    locals.push(local);
    centrals.push(Buffer.concat([ch, name]));
    offset += local.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length, 8);
  end.writeUInt16LE(centrals.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const CT = `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/body.bin" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`;
const RELS = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/body.bin"/></Relationships>`;
const TINY = `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>decoy</w:t></w:r></w:p></w:body></w:document>`;

describe('zip-bomb check vs. a DOCX main part not named *.xml', () => {
  it('refuses a DOCX whose officeDocument part (word/body.bin) inflates past the limit while its directory claims 1000 bytes', async () => {
    const docx = zip([
      { name: '[Content_Types].xml', content: Buffer.from(CT) },
      { name: '_rels/.rels', content: Buffer.from(RELS) },
      { name: 'word/document.xml', content: Buffer.from(TINY) },
      { name: 'word/body.bin', raw: bombData(400 * MiB), claimed: 1000 },
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
    const docx = zip([
      { name: '[Content_Types].xml', content: Buffer.from(CT.replace('/word/body.bin', '/word/document.xml')) },
      { name: '_rels/.rels', content: Buffer.from(RELS2) },
      { name: 'word/document.xml', raw: bombData(400 * MiB), claimed: 1000 },
    ]);
    const file = path.join(dir, 'bomb2.docx');
    fs.writeFileSync(file, docx);
    const r = await pool.extract({ path: file, contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', key: 'bomb2.docx' });
    expect({ status: r.status, detail: r.detail }).toMatchObject({ status: 'failed', detail: expect.stringMatching(/inflates to more than/) });
  }, 60_000);
});
