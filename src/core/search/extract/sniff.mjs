// @ts-check
// What a content is, from its bytes alone: shared by the extraction worker and the import pipeline,
// which uses it to skip the worker for content that has no text. Neither the key nor the content type
// decides: a text is kept once per content (by SHA-256) for every organization holding it, so identical
// bytes must get one text whoever imported them first and under whatever name (only a charset the
// content type declares is weighed, for 8-bit text that is not UTF-8).
import { createRequire } from 'node:module';
import { unzipSync } from 'fflate';

/**
 * iconv-lite, loaded the first time a content type declares a charset: the import pipeline's main
 * thread runs this module for every file, and iconv-lite's tables are half a megabyte of code it
 * otherwise never needs.
 * @type {typeof import('iconv-lite') | undefined}
 */
let iconvLib;
const iconv = () => (iconvLib ??= /** @type {typeof import('iconv-lite')} */ (createRequire(import.meta.url)('iconv-lite')));

/**
 * A content is HTML when it starts as a page does (`<!doctype html`, `<html`, `<head`, `<body`, after
 * whitespace): browsers sniff more tags (`<p`, `<div`, `<!--`) only for content that came without a
 * type, and Markdown and other text often start with those (a README's `<p align="center">`), whose
 * words an HTML parser would lose (`List<String>`).
 */
const HTML_STARTS = ['<!doctype html', '<html', '<head', '<body'];

/**
 * XML without a declaration: a first element that is a known XML document's root (SVG, RSS, Atom,
 * RDF) or that declares a namespace.
 */
const XML_ROOT = /^<(?:!doctype svg|(?:svg|rss|feed|rdf:rdf)[\s>/]|[a-z][\w.:-]*\s[^>]*\bxmlns(?::[\w.-]+)?\s*=)/i;

/** @param {Buffer} head */
export function detect(head) {
  if (head.subarray(0, 5).toString('latin1') === '%PDF-') return 'pdf';
  // gzip-compressed bytes, whatever the type says (a GCS object stored with Content-Encoding: gzip).
  if (head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  // A zip's entries tell an Office document from an archive (zipKind).
  if (head.subarray(0, 4).toString('latin1') === 'PK\u0003\u0004') return 'zip';
  const text = head.subarray(0, 1024).toString('latin1').replace(/^\xef\xbb\xbf/, '').replace(/^[\t\n\f\r ]+/, '');
  const start = text.slice(0, 15).toLowerCase();
  if (start.startsWith('<?xml')) return /<!doctype html|<html[\s>]/i.test(text) ? 'html' : 'xml';
  if (HTML_STARTS.some((t) => start.startsWith(t) && (start.length === t.length || /[\s>]/.test(start[t.length] ?? '')))) return 'html';
  if (XML_ROOT.test(text)) return 'xml';
  return 'other';
}

/**
 * What a zip holds, from its entries rather than its name: 'docx' or 'xlsx', or null when its entries
 * do not tell (or its directory cannot be read), so the same bytes get one text whichever key brought
 * them first.
 * @param {Buffer} data
 */
export function zipKind(data) {
  const names = new Set();
  try {
    unzipSync(data, {
      filter(f) {
        names.add(f.name);
        return false;
      },
    });
  } catch {
    return null;
  }
  // An Office document names its parts in [Content_Types].xml: a plain archive holding a word/ folder is none.
  if (!names.has('[Content_Types].xml')) return null;
  if (names.has('word/document.xml')) return 'docx';
  if (names.has('xl/workbook.xml') || [...names].some((n) => /^xl\/worksheets\/[^/]+\.xml$/.test(n))) return 'xlsx';
  return null;
}

/** @param {Buffer} head */
export function looksUtf8(head) {
  if (head.includes(0)) return false;
  // A multi-byte character cut at the end of the sample is not an error.
  let end = head.length;
  for (let i = 1; i <= 3 && end - i >= 0; i++) {
    const b = /** @type {number} */ (head[end - i]);
    if ((b & 0xc0) === 0xc0) {
      end -= i;
      break;
    }
    if ((b & 0x80) === 0) break;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

/**
 * UTF-8 text with a few stray bytes (a Latin-1 no-break space pasted into a UTF-8 export): not UTF-8 as
 * looksUtf8 reads it, but its characters above 0x7F are mostly well-formed UTF-8 sequences, at least
 * twice as many as the bytes that are not, and those are at most 1 in 100 bytes. Text in an 8-bit
 * encoding has almost no such sequences (an accented letter followed by ASCII is not one), and binary
 * content has many more bad bytes than good sequences.
 * @param {Buffer} bytes
 */
export function mostlyUtf8(bytes) {
  if (bytes.includes(0)) return false;
  let good = 0;
  let bad = 0;
  const n = bytes.length;
  for (let i = 0; i < n; ) {
    const b = /** @type {number} */ (bytes[i]);
    if (b < 0x80) {
      i++;
      continue;
    }
    const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    // The second byte's range: E0 and F0 exclude overlong forms, ED surrogates, F4 code points past U+10FFFF.
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    let ok = len > 0 && i + len <= n;
    for (let k = 1; ok && k < len; k++) {
      const c = /** @type {number} */ (bytes[i + k]);
      ok = k === 1 ? c >= lo && c <= hi : (c & 0xc0) === 0x80;
    }
    // A sequence cut at the end of the sample is neither.
    if (!ok && len > 0 && i + len > n) break;
    if (ok) good++, (i += len);
    else bad++, i++;
  }
  return bad > 0 && good >= 2 * bad && bad * 100 <= n;
}

/** Bytes windows-1252 leaves undefined: text in it never holds them. */
const CP1252_UNDEFINED = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

/**
 * The encoding of text that is not UTF-8 but an 8-bit one (a Latin-1 CSV export, a Windows-1252
 * note), or null: the content type's charset when it names one iconv-lite knows, else windows-1252
 * (a superset of Latin-1's printable characters). The bytes must read as text: no NUL, almost no
 * control characters, and, without a declared charset, no byte windows-1252 leaves undefined and at
 * most a quarter of the bytes above 0x7F (text in a Latin alphabet has a few; binary content about
 * half). Give it every byte that is to be decoded: an ASCII start says nothing of what follows.
 * iconv-lite decodes it: Node's TextDecoder reads windows-1252 as Latin-1 (0x93 becomes U+0093, not a
 * quotation mark) in the Node versions cloudport supports.
 * @param {Buffer} bytes @param {string} contentType
 */
export function legacyCharset(bytes, contentType) {
  const declared = declaredCharset(contentType);
  let controls = 0;
  let high = 0;
  for (const b of bytes) {
    if (b === 0) return null;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) controls++;
    else if (b >= 0x80) {
      if (!declared && CP1252_UNDEFINED.has(b)) return null;
      high++;
    }
  }
  if (controls * 100 > bytes.length) return null;
  if (!declared && high * 4 > bytes.length) return null;
  return declared ?? 'windows-1252';
}

/**
 * 'utf-16le' or 'utf-16be' for plain text in UTF-16 (a Windows export): a byte order mark, then no NUL
 * and almost no control characters once decoded; else null.
 * @param {Buffer} head
 */
export function utf16Text(head) {
  const le = head[0] === 0xff && head[1] === 0xfe;
  if (!le && !(head[0] === 0xfe && head[1] === 0xff)) return null;
  // Text, not bytes behind a mark: no NUL character and almost no controls once decoded (UTF-32LE's mark,
  // FF FE 00 00, starts as UTF-16LE's and decodes to NULs).
  const text = new TextDecoder(le ? 'utf-16le' : 'utf-16be').decode(head.subarray(2, head.length - (head.length % 2)));
  let controls = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) return null;
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) controls++;
  }
  return controls * 100 > text.length ? null : le ? 'utf-16le' : 'utf-16be';
}

/**
 * The 8-bit charset a content type declares, when iconv-lite knows it, or null. Labels that name no
 * 8-bit text encoding (UTF-8 and UTF-16 under any name, base64, hex) are not; ASCII under any name is
 * windows-1252, as WHATWG decoders read it (the bytes above 0x7F are there).
 * @param {string} contentType
 */
export function declaredCharset(contentType) {
  const label = /charset\s*=\s*["']?([\w.:-]+)/i.exec(contentType)?.[1]?.toLowerCase();
  if (!label || /^(utf|ucs|unicode|cesu|base64|hex|binary)/.test(label) || !iconv().encodingExists(label)) return null;
  return /^(us-?ascii|ascii|ansi_x3\.4-1968|iso646-us|cp367|us)$/.test(label) ? 'windows-1252' : label;
}

/**
 * True when the first bytes already say there is no text to extract (binary content that is no
 * document format): the import records "unsupported" without a worker.
 * @param {Buffer} head @param {string} contentType
 */
export function plainlyBinary(head, contentType) {
  const format = detect(head);
  if (format === 'gzip') return true;
  return format === 'other' && !looksUtf8(head) && !mostlyUtf8(head) && !legacyCharset(head, contentType) && !utf16Text(head);
}
