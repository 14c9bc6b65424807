import zlib from 'node:zlib';
import { strToU8, zipSync } from 'fflate';

/** A minimal PDF with one page per string (Helvetica, one line of text per page). */
export function makePdf(pages: string[][]): Buffer {
  const objs: string[] = [];
  const n = pages.length;
  // 1 catalog, 2 pages, 3 font, then page+content pairs
  objs[1] = `<< /Type /Catalog /Pages 2 0 R >>`;
  const kids = pages.map((_, i) => `${4 + i * 2} 0 R`).join(' ');
  objs[2] = `<< /Type /Pages /Kids [${kids}] /Count ${n} >>`;
  objs[3] = `<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>`;
  pages.forEach((lines, i) => {
    const esc = (s: string) => s.replace(/[\\()]/g, (c) => '\\' + c);
    const ops = lines.map((l, k) => `BT /F1 12 Tf 72 ${720 - k * 16} Td (${esc(l)}) Tj ET`).join('\n');
    objs[4 + i * 2] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + i * 2} 0 R >>`;
    objs[5 + i * 2] = `<< /Length ${Buffer.byteLength(ops, 'latin1')} >>\nstream\n${ops}\nendstream`;
  });
  let out = '%PDF-1.4\n';
  const offs: number[] = [];
  for (let i = 1; i < objs.length; i++) {
    offs[i] = Buffer.byteLength(out, 'latin1');
    out += `${i} 0 obj\n${objs[i]}\nendobj\n`;
  }
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objs.length}\n0000000000 65535 f \n`;
  for (let i = 1; i < objs.length; i++) out += `${String(offs[i]).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objs.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** A minimal DOCX with one paragraph per string. */
export function makeDocx(paras: string[]): Buffer {
  const body = paras.map((p) => `<w:p><w:r><w:t xml:space="preserve">${esc(p)}</w:t></w:r></w:p>`).join('');
  return Buffer.from(
    zipSync({
      '[Content_Types].xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`),
      '_rels/.rels': strToU8(`<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`),
      'word/document.xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`),
    }),
  );
}

/** A minimal XLSX: rows of inline-string cells, optionally with an XML namespace prefix on every element. */
export function makeXlsx(rows: string[][], prefix = ''): Buffer {
  const p = prefix ? `${prefix}:` : '';
  const ns = prefix ? `xmlns:${prefix}` : 'xmlns';
  const cols = 'ABCDEFGHIJ';
  const sheetRows = rows
    .map((r, i) => `<${p}row r="${i + 1}">${r.map((c, j) => `<${p}c r="${cols[j]}${i + 1}" t="inlineStr"><${p}is><${p}t>${esc(c)}</${p}t></${p}is></${p}c>`).join('')}</${p}row>`)
    .join('');
  return Buffer.from(
    zipSync({
      '[Content_Types].xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>`),
      'xl/workbook.xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets><sheet name="S" sheetId="1"/></sheets></workbook>`),
      'xl/worksheets/sheet1.xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><${p}worksheet ${ns}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><${p}sheetData>${sheetRows}</${p}sheetData></${p}worksheet>`),
    }),
  );
}


/** An entry of handZip: its bytes (deflated here) or data deflated already, with its CRC and true size. */
export interface HandZipEntry {
  name: string;
  content?: Buffer;
  raw?: { data: Buffer; crc: number; size: number };
  /** The size the headers claim (default: the true size). */
  claimed?: number;
  /** Sizes and CRC after the data (bit 3), as streaming writers such as java.util.zip.ZipOutputStream write them. */
  descriptor?: boolean;
}

/**
 * A zip written by hand, deflated entries only, for what zip libraries do not write: headers that lie
 * about sizes, data descriptors.
 */
export function handZip(entries: HandZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const data = e.raw ? e.raw.data : zlib.deflateRawSync(e.content!, { level: 9 });
    const crc = e.raw ? e.raw.crc : zlib.crc32(e.content!) >>> 0;
    const size = e.claimed ?? (e.raw ? e.raw.size : e.content!.length);
    const flags = e.descriptor ? 0x0808 : 0;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(flags, 6);
    lh.writeUInt16LE(8, 8);
    if (!e.descriptor) {
      lh.writeUInt32LE(crc, 14);
      lh.writeUInt32LE(data.length, 18);
      lh.writeUInt32LE(size, 22);
    }
    lh.writeUInt16LE(name.length, 26);
    let dd = Buffer.alloc(0);
    if (e.descriptor) {
      dd = Buffer.alloc(16);
      dd.writeUInt32LE(0x08074b50, 0);
      dd.writeUInt32LE(crc, 4);
      dd.writeUInt32LE(data.length, 8);
      dd.writeUInt32LE(size, 12);
    }
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(flags, 8);
    ch.writeUInt16LE(8, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(data.length, 20);
    ch.writeUInt32LE(size, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    const local = Buffer.concat([lh, name, data, dd]);
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

/** `inflated` bytes of a document part ("A"s after its head), deflated cheaply: 1 MiB blocks flushed and repeated. */
export function bombPart(inflated: number, word = ''): { data: Buffer; crc: number; size: number } {
  const head = Buffer.from(`<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>${word}`);
  const tail = Buffer.from('</w:t></w:r></w:p></w:body></w:document>');
  const fill = Buffer.alloc(1 << 20, 0x41);
  let crc = zlib.crc32(head);
  const sync = (b: Buffer) => zlib.deflateRawSync(b, { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const parts: Buffer[] = [sync(head)];
  const zfill = sync(fill);
  let left = inflated - head.length - tail.length;
  while (left > 0) {
    const piece = left >= fill.length ? fill : fill.subarray(0, left);
    crc = zlib.crc32(piece, crc);
    parts.push(piece === fill ? zfill : sync(piece));
    left -= piece.length;
  }
  crc = zlib.crc32(tail, crc);
  parts.push(zlib.deflateRawSync(tail));
  return { data: Buffer.concat(parts), crc: crc >>> 0, size: Math.max(inflated, head.length + tail.length) };
}

/**
 * A DOCX whose word/document.xml really inflates to `inflated` bytes while its local header and
 * central directory claim only `claimed` bytes: a zip bomb that lies about its size.
 */
export function lyingDocxBomb(inflated: number, claimed = 1000): Buffer {
  // [Content_Types].xml makes it a DOCX by its entries, whatever its key (zipKind).
  return handZip([
    { name: '[Content_Types].xml', content: Buffer.from('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>') },
    { name: 'word/document.xml', raw: bombPart(inflated), claimed },
  ]);
}
