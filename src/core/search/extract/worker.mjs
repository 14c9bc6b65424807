// @ts-check
// An extraction worker's thread (see pool.ts): it reads one file at a time and answers its text. It
// runs with a heap limit of its own and is terminated when it overruns its time, so a hostile
// document can cost this thread, never the server. Plain JavaScript checked by tsc, so that it runs
// from src/ and dist/ alike.
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { Tokenizer } from 'htmlparser2';
import { unzipSync } from 'fflate';
import JSZip from 'jszip';
import iconv from 'iconv-lite';
import { detect, legacyCharset, looksUtf8, mostlyUtf8, utf16Text, zipKind } from './sniff.mjs';

/**
 * @typedef {{ maxTextBytes: number, maxPages: number, maxInputBytes: number, maxZipEntries: number,
 *   maxInflatedBytes: number }} Limits
 * @typedef {{ id: number, path: string, contentType: string, key: string, limits: Limits }} Job
 * @typedef {{ status: 'extracted' | 'truncated' | 'unsupported' | 'failed' | 'empty', detail: string | null,
 *   text: string, format: string, derived: boolean }} Result
 */

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

/** Collects text up to a byte limit; past it, `full` is set and further text is dropped. */
class Sink {
  /** @param {number} max */
  constructor(max) {
    this.max = max;
    this.bytes = 0;
    /** @type {string[]} */
    this.parts = [];
    this.full = false;
  }
  /** @param {string} s */
  push(s) {
    if (this.full || !s) return;
    // A NUL is a space in the text (one byte for one, so offsets hold): PostgreSQL keeps no NUL in text.
    if (s.includes('\u0000')) s = s.replaceAll('\u0000', ' ');
    const n = Buffer.byteLength(s, 'utf8');
    if (this.bytes + n <= this.max) {
      this.parts.push(s);
      this.bytes += n;
      return;
    }
    // Cut at a character boundary: decoding a cut UTF-8 prefix drops a broken last character.
    const room = this.max - this.bytes;
    const cut = Buffer.from(s, 'utf8').subarray(0, room).toString('utf8').replace(/\uFFFD$/, '');
    this.parts.push(cut);
    this.bytes += Buffer.byteLength(cut, 'utf8');
    this.full = true;
  }
  text() {
    return this.parts.join('');
  }
}

/** @param {string} path @param {number} max */
function readHead(path, max) {
  const fd = fs.openSync(path, 'r');
  try {
    const buf = Buffer.alloc(max);
    const n = fs.readSync(fd, buf, 0, max, 0);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** @param {string} text @param {boolean} truncated @param {string | null} why @param {string} format @param {boolean} derived @returns {Result} */
function done(text, truncated, why, format, derived) {
  // A soft hyphen is an invisible hint where a line may break (typeset HTML, PDFs, Word): in a word it
  // would split it in two for search. Text read as stored keeps it, since its offsets are the item's bytes.
  if (derived && text.includes('\u00ad')) text = text.replace(/\u00ad/g, '');
  if (!text.trim()) return { status: 'empty', detail: truncated ? why : null, text: '', format, derived };
  return { status: truncated ? 'truncated' : 'extracted', detail: truncated ? why : null, text, format, derived };
}

/** @param {number} n */
const sizeText = (n) => (n >= 1048576 ? `${Math.round((n / 1048576) * 10) / 10} MiB` : n >= 1024 ? `${Math.round((n / 1024) * 10) / 10} KiB` : `${n} bytes`);

/** @param {Buffer} data @param {Limits} limits */
async function checkZip(data, limits) {
  let entries = 0;
  let inflated = 0;
  unzipSync(data, {
    filter(f) {
      entries++;
      inflated += f.originalSize;
      return false;
    },
  });
  if (entries > limits.maxZipEntries) throw new Error(`the zip holds ${entries} entries, more than the limit of ${limits.maxZipEntries}`);
  if (inflated > limits.maxInflatedBytes) throw new Error(`the zip inflates to ${sizeText(inflated)}, more than the limit of ${sizeText(limits.maxInflatedBytes)}`);
  // The sizes above are what the zip's directory claims; a bomb can claim little and inflate to
  // gigabytes in the library that reads it. Every entry is inflated once as a stream, counted and
  // dropped, stopping at the limit with no more memory than a chunk: any of them may be the part the
  // document's relationships name (mammoth opens its main part by that name, whatever it is). JSZip,
  // which mammoth reads with, takes each entry's size from the central directory, so entries written
  // with data descriptors by streaming writers stream as well as any.
  const zip = await JSZip.loadAsync(data, { checkCRC32: false });
  let real = 0;
  for (const file of Object.values(zip.files)) {
    if (file.dir) continue;
    await new Promise((resolve, reject) => {
      const stream = /** @type {import('node:stream').Readable} */ (file.nodeStream('nodebuffer'));
      stream
        .on('data', (/** @type {Buffer} */ chunk) => {
          if ((real += chunk.length) <= limits.maxInflatedBytes) return;
          stream.destroy();
          reject(new Error(`the zip inflates to more than the limit of ${sizeText(limits.maxInflatedBytes)} (its directory claims ${sizeText(inflated)})`));
        })
        .on('error', reject)
        .on('end', resolve);
    });
  }
}

/**
 * Markup's text in the encoding it declares: a byte order mark, the content type's charset, or the
 * document's own `<meta charset>` / `<?xml encoding>` in its first 2 KB; UTF-8 otherwise (and for a
 * label TextDecoder does not know).
 * @param {Buffer} data @param {string} contentType
 */
function decodeMarkup(data, contentType) {
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) return data.subarray(3).toString('utf8');
  if ((data[0] === 0xff && data[1] === 0xfe) || (data[0] === 0xfe && data[1] === 0xff)) return new TextDecoder(data[0] === 0xff ? 'utf-16le' : 'utf-16be').decode(data.subarray(2));
  const head = data.subarray(0, 2048).toString('latin1');
  const label =
    /charset\s*=\s*["']?([\w.:-]+)/i.exec(contentType)?.[1] ??
    /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(head)?.[1] ??
    /<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)/i.exec(head)?.[1];
  if (label && !/^utf-?8$/i.test(label)) {
    try {
      return new TextDecoder(label).decode(data);
    } catch {
      // An unknown label: read it as UTF-8.
    }
  }
  // Undeclared: UTF-8 when it is (or mostly is), else windows-1252, as browsers read such a page.
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return mostlyUtf8(data) || !legacyCharset(data, '') ? data.toString('utf8') : iconv.decode(data, 'windows-1252');
  }
}

/** HTML elements whose content is not visible text. */
const SKIP_HTML = new Set(['script', 'style', 'noscript', 'template', 'svg', 'math', 'iframe', 'object']);
/** SVG elements whose content is not visible text (an SVG is read as XML). */
const SKIP_SVG = new Set(['script', 'style']);
const BLOCK = new Set(['p', 'div', 'br', 'li', 'tr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'section', 'article', 'header', 'footer', 'blockquote', 'pre', 'table', 'ul', 'ol', 'dt', 'dd', 'hr', 'title', 'td', 'th', 'main', 'nav', 'aside', 'figure', 'figcaption', 'address', 'details', 'summary', 'fieldset', 'legend', 'caption', 'dl', 'form', 'dialog', 'menu', 'hgroup', 'search', 'option', 'optgroup', 'button', 'thead', 'tbody', 'tfoot', 'center', 'textarea', 'select']);
const noop = () => {};

/**
 * Visible text of HTML (or the text of XML), from htmlparser2's tokenizer alone: its Parser keeps a
 * stack of open elements that costs O(depth) per element (200,000 nested divs took over 10 s), and
 * text needs no tree. No script, style or markup; a line break at block elements; runs of whitespace
 * collapsed; entities decoded.
 * @param {string} source @param {Sink} sink @param {boolean} xml
 */
function markupText(source, sink, xml) {
  let skip = 0;
  let afterDeclaration = false;
  let lastOpen = '';
  /** XML's root element: an SVG's style sheets and scripts are markup, as HTML's are. */
  let root = '';
  /** @param {string} n */
  const skipped = (n) => (xml ? root === 'svg' && SKIP_SVG.has(n.slice(n.indexOf(':') + 1)) : SKIP_HTML.has(n));
  let line = '';
  const flush = () => {
    const t = line.replace(/[ \t\r\n\f\u00a0]+/g, ' ').trim();
    if (t) sink.push(t + '\n');
    line = '';
  };
  /** @param {string} name @param {boolean} opening */
  const tag = (name, opening) => {
    if (xml && opening && !root) root = name.slice(name.indexOf(':') + 1);
    if (skipped(name)) skip = opening ? skip + 1 : Math.max(0, skip - 1);
    if (xml || BLOCK.has(name)) flush();
  };
  const name = (/** @type {number} */ start, /** @type {number} */ end) => source.slice(start, end).toLowerCase();
  const tokenizer = new Tokenizer(
    { xmlMode: xml, decodeEntities: true },
    {
      onopentagname(start, end) {
        lastOpen = name(start, end);
        tag(lastOpen, true);
      },
      onselfclosingtag() {
        if (skipped(lastOpen)) skip = Math.max(0, skip - 1);
      },
      onclosetag(start, end) {
        tag(name(start, end), false);
      },
      ontext(start, end) {
        let text = source.slice(start, end);
        // The tokenizer ends a DOCTYPE at its first ">", so an internal subset's closing "]>" arrives as text.
        if (afterDeclaration) text = text.replace(/^\s*\]\s*>/, '');
        afterDeclaration = false;
        if (skip === 0 && !sink.full) line += text;
      },
      ontextentity(codepoint) {
        if (skip === 0 && !sink.full) line += String.fromCodePoint(codepoint);
      },
      onattribdata: noop,
      onattribentity: noop,
      onattribend: noop,
      onattribname: noop,
      oncdata(start, end, endOffset) {
        if (skip === 0 && !sink.full) line += source.slice(start, end - endOffset);
      },
      oncomment: noop,
      ondeclaration() {
        afterDeclaration = true;
      },
      onend: noop,
      onopentagend: noop,
      onprocessinginstruction: noop,
    },
  );
  tokenizer.write(source);
  tokenizer.end();
  flush();
}

const PDFJS = 'pdfjs-dist/legacy/build/pdf.min.mjs';

/** @param {Buffer} data @param {Sink} sink @param {Limits} limits */
async function pdfText(data, sink, limits) {
  // The minified build: the same code, about 6 MB less memory once loaded.
  /** @type {typeof import('pdfjs-dist/legacy/build/pdf.mjs')} */
  const pdfjs = await import(PDFJS);
  started('pdf');
  const task = pdfjs.getDocument({ data: new Uint8Array(data.buffer, data.byteOffset, data.length), isEvalSupported: false, disableFontFace: true, useSystemFonts: false, verbosity: 0, stopAtErrors: false });
  /** @type {import('pdfjs-dist/legacy/build/pdf.mjs').PDFDocumentProxy} */
  let doc;
  try {
    doc = await task.promise;
  } catch (e) {
    const name = /** @type {Error} */ (e).name;
    if (name === 'PasswordException') throw new Error('the PDF is encrypted with a password');
    if (name === 'InvalidPDFException') throw new Error('not a valid PDF (damaged or truncated)');
    throw e;
  }
  try {
    const pages = Math.min(doc.numPages, limits.maxPages);
    for (let p = 1; p <= pages && !sink.full; p++) {
      const page = await doc.getPage(p);
      const content = await page.getTextContent();
      let text = '';
      for (const item of content.items) {
        if (!('str' in item)) continue;
        text += item.str + (item.hasEOL ? '\n' : '');
      }
      sink.push(text.replace(/[ \t]+\n/g, '\n') + '\n\n');
      page.cleanup();
    }
    return doc.numPages > pages ? `the first ${pages} of ${doc.numPages} pages (page limit)` : null;
  } finally {
    await doc.destroy();
  }
}

/** @param {Buffer} data @param {Sink} sink */
async function docxText(data, sink) {
  const mammoth = (await import('mammoth')).default;
  started('docx');
  const r = await mammoth.extractRawText({ buffer: data });
  sink.push(r.value.replace(/\n{3,}/g, '\n\n'));
}

/**
 * XML elements, attributes and text from htmlparser2's tokenizer, for the sheets of an XLSX: its Parser
 * keeps a stack of open elements that costs O(depth) per element (see markupText), which a small file
 * of deep nesting turns into minutes.
 * @param {string} source
 * @param {{ open(name: string, attrs: Record<string, string>): void; close(name: string): void; text(t: string): void }} on
 */
function xmlEvents(source, on) {
  let tagName = '';
  /** @type {Record<string, string>} */
  let attrs = {};
  let attrName = '';
  let attrValue = '';
  const tokenizer = new Tokenizer(
    { xmlMode: true, decodeEntities: true },
    {
      onopentagname(start, end) {
        tagName = source.slice(start, end);
        attrs = {};
      },
      onattribname(start, end) {
        attrName = source.slice(start, end);
        attrValue = '';
      },
      onattribdata(start, end) {
        attrValue += source.slice(start, end);
      },
      onattribentity(codepoint) {
        attrValue += String.fromCodePoint(codepoint);
      },
      onattribend() {
        attrs[attrName] = attrValue;
      },
      onopentagend() {
        on.open(tagName, attrs);
      },
      onselfclosingtag() {
        on.open(tagName, attrs);
        on.close(tagName);
      },
      onclosetag(start, end) {
        on.close(source.slice(start, end));
      },
      ontext(start, end) {
        on.text(source.slice(start, end));
      },
      ontextentity(codepoint) {
        on.text(String.fromCodePoint(codepoint));
      },
      oncdata(start, end, endOffset) {
        on.text(source.slice(start, end - endOffset));
      },
      oncomment: noop,
      ondeclaration: noop,
      onend: noop,
      onprocessinginstruction: noop,
    },
  );
  tokenizer.write(source);
  tokenizer.end();
}

/** An element's name without its namespace prefix: a sheet may be written <x:row> as well as <row>. @param {string} tag */
const local = (tag) => tag.slice(tag.indexOf(':') + 1);

/** @param {Buffer} data @param {Sink} sink */
function xlsxText(data, sink) {
  const files = unzipSync(data, { filter: (f) => f.name === 'xl/sharedStrings.xml' || /^xl\/worksheets\/[^/]+\.xml$/.test(f.name) });
  const dec = new TextDecoder();
  /** @type {string[]} */
  const shared = [];
  const ss = files['xl/sharedStrings.xml'];
  if (ss) {
    let cur = '';
    let inT = false;
    // A phonetic guide (<rPh>, the furigana Japanese Excel stores) is not part of what the cell shows.
    let phonetic = 0;
    xmlEvents(dec.decode(ss), {
      open(tag) {
        const n = local(tag);
        if (n === 'si') cur = '';
        if (n === 't') inT = true;
        if (n === 'rPh') phonetic++;
      },
      close(tag) {
        const n = local(tag);
        if (n === 't') inT = false;
        if (n === 'rPh') phonetic = Math.max(0, phonetic - 1);
        if (n === 'si') shared.push(cur);
      },
      text(t) {
        if (inT && !phonetic) cur += t;
      },
    });
  }
  const sheets = Object.keys(files)
    .filter((n) => n.startsWith('xl/worksheets/'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  for (const name of sheets) {
    if (sink.full) break;
    /** @type {string[]} */
    let row = [];
    let cellType = '';
    let value = '';
    let inValue = false;
    let phonetic = 0;
    xmlEvents(dec.decode(/** @type {Uint8Array} */ (files[name])), {
      open(tag, attrs) {
        const n = local(tag);
        if (n === 'row') row = [];
        if (n === 'c') {
          cellType = attrs.t ?? 'n';
          value = '';
        }
        if (n === 'rPh') phonetic++;
        if ((n === 'v' || n === 't') && !phonetic) inValue = true;
      },
      close(tag) {
        const n = local(tag);
        if (n === 'rPh') phonetic = Math.max(0, phonetic - 1);
        if (n === 'v' || n === 't') inValue = false;
        if (n === 'c') row.push(cellType === 's' ? (shared[Number(value)] ?? '') : cellType === 'b' ? (value === '1' ? 'TRUE' : 'FALSE') : value);
        if (n === 'row') {
          const line = row.join('\t').replace(/\t+$/, '');
          if (line) sink.push(line + '\n');
        }
      },
      text(t) {
        if (inValue) value += t;
      },
    });
    sink.push('\n');
  }
}

/** @param {Job} job @returns {Promise<Result>} */
async function extract(job) {
  const { limits } = job;
  const size = fs.statSync(job.path).size;
  const head = readHead(job.path, Math.min(size, 8192));
  let format = detect(head);
  started(format);
  const sink = new Sink(limits.maxTextBytes);
  const derivedFormats = ['pdf', 'docx', 'xlsx', 'html', 'xml'];
  // (A zip too large to look into is not read: whatever it holds, it is over the limit.)
  if (format === 'zip' && size > limits.maxInputBytes) return { status: 'unsupported', detail: 'zip archive', text: '', format, derived: false };
  if (derivedFormats.includes(format) && size > limits.maxInputBytes) {
    return { status: 'failed', detail: `${sizeText(size)} is more than the extraction limit of ${sizeText(limits.maxInputBytes)}`, text: '', format, derived: true };
  }
  /** @type {Buffer | null} */
  let whole = null;
  if (format === 'zip' || format === 'docx' || format === 'xlsx') {
    whole = fs.readFileSync(job.path);
    format = zipKind(whole) ?? format;
  }
  if (format === 'zip') return { status: 'unsupported', detail: 'zip archive', text: '', format, derived: false };
  if (format === 'gzip') return { status: 'unsupported', detail: 'gzip-compressed', text: '', format, derived: false };
  // 8-bit or UTF-16 text, when its first bytes are not UTF-8, nor UTF-8 with a few stray bytes (a declared
  // charset is weighed below, on the whole body).
  const utf8 = looksUtf8(head) || mostlyUtf8(head);
  const charset = format === 'other' && !utf8 ? (utf16Text(head) ?? legacyCharset(head, job.contentType)) : null;
  if (format === 'other' && !utf8 && !charset) {
    return { status: 'unsupported', detail: 'binary content', text: '', format: 'binary', derived: false };
  }
  if (format === 'other') {
    // The limit is on bytes of text: UTF-16 takes two bytes for what UTF-8 takes one to three, so its
    // input is read up to twice the limit (the sink stops the text at the limit itself).
    const input = charset?.startsWith('utf-16') ? 2 * limits.maxTextBytes : limits.maxTextBytes;
    const data = readHead(job.path, Math.min(size, input + 4));
    const body = data.subarray(0, Math.min(data.length, input));
    const truncated = size > input;
    const limit = `the first ${sizeText(limits.maxTextBytes)} of ${sizeText(size)} (text limit)`;
    // Text in an 8-bit encoding: decoded, so its offsets are the decoded text's, which read_item reads.
    /** @param {string} cs @returns {Result} */
    const legacy = (cs) => {
      // Well-formed: an unpaired surrogate of UTF-16 is one U+FFFD, as the stores would write it differently.
      sink.push(iconv.decode(body, cs).replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));
      // A character above 0x7F takes two or three bytes in UTF-8: the text can pass the limit that the bytes did not.
      const cut = truncated || sink.full;
      const r = done(sink.text(), true, `decoded from ${cs} (not UTF-8)${cut ? `; the first ${sizeText(sink.bytes)} of its text (text limit)` : ''}`, 'text', true);
      return { ...r, status: r.status === 'empty' ? 'empty' : cut ? 'truncated' : /** @type {const} */ ('extracted') };
    };
    if (charset) {
      // Its first bytes read as 8-bit text; every byte to be decoded must (a script ahead of a binary payload).
      const cs = charset.startsWith('utf-16') ? charset : legacyCharset(body, job.contentType);
      if (cs) return legacy(cs);
      return { status: 'unsupported', detail: 'binary content', text: '', format: 'binary', derived: false };
    }
    // Text as stored: its offsets are the item's own, so read_item reads the item itself.
    if (looksUtf8(body)) {
      sink.push(data.toString('utf8'));
      return done(sink.text(), truncated, limit, 'text', false);
    }
    // Not UTF-8 past an ASCII start: a declared 8-bit charset decides (only here: UTF-8 labelled
    // iso-8859-1 or us-ascii is common, and stays UTF-8 above, as does UTF-8 with a few stray bytes).
    // Not mostly UTF-8 (a few stray bytes among UTF-8 sequences): an 8-bit charset, the declared one or
    // windows-1252, when every byte reads as text in it (a Latin-1 CSV whose accents begin late).
    const fewBad = mostlyUtf8(body);
    if (!fewBad) {
      const cs = legacyCharset(body, job.contentType);
      if (cs) return legacy(cs);
    }
    // Text with a few bad bytes (its start looked like UTF-8) keeps its words: the bad bytes become
    // U+FFFD, and since that shifts offsets, read_item reads this text rather than the bytes.
    const text = body.toString('utf8');
    const bad = (text.match(/\uFFFD/g) ?? []).length;
    if (!fewBad && bad * 1000 > text.length) {
      const cs = legacyCharset(body, job.contentType);
      if (cs) return legacy(cs);
      return { status: 'unsupported', detail: 'not UTF-8 text', text: '', format: 'binary', derived: false };
    }
    sink.push(text);
    // Each replaced byte takes three in the text: the text can pass the limit that the bytes did not.
    const cut = truncated || sink.full;
    const r = done(sink.text(), true, `${bad} byte sequence(s) that are not UTF-8 replaced by U+FFFD${cut ? `; the first ${sizeText(sink.bytes)} of its text (text limit)` : ''}`, 'text', true);
    return { ...r, status: r.status === 'empty' ? 'empty' : cut ? 'truncated' : 'extracted' };
  }
  const data = whole ?? fs.readFileSync(job.path);
  let why = null;
  try {
    if (format === 'pdf') why = await pdfText(data, sink, limits);
    else if (format === 'docx') {
      await checkZip(data, limits);
      await docxText(data, sink);
    } else if (format === 'xlsx') {
      await checkZip(data, limits);
      xlsxText(data, sink);
    } else markupText(decodeMarkup(data, job.contentType), sink, format === 'xml');
  } catch (e) {
    return { status: 'failed', detail: oneLine(e), text: '', format, derived: true };
  }
  const truncated = sink.full || why !== null;
  return done(sink.text(), truncated, why ?? `the first ${sizeText(limits.maxTextBytes)} of text (text limit)`, format, true);
}

/** @param {unknown} e */
function oneLine(e) {
  return String(/** @type {Error} */ (e)?.message ?? e).split('\n')[0]?.slice(0, 300) || 'failed';
}

/** The item being extracted: its time limit counts from started(), not from the worker's own start. */
let current = 0;
/**
 * Tells the pool the item's work begins now (again after a library loads: loading is not the
 * document's doing), and its format, which a timeout's verdict keeps.
 * @param {string} format
 */
function started(format) {
  port.postMessage({ id: current, started: true, format });
}

port.on('message', (/** @type {Job} */ job) => {
  current = job.id;
  extract(job).then(
    (r) => port.postMessage({ id: job.id, result: r }),
    (e) => port.postMessage({ id: job.id, result: { status: 'failed', detail: oneLine(e), text: '', format: 'unknown', derived: false } }),
  );
});
