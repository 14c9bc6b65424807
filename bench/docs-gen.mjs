// Documents the search benchmarks generate themselves: one-page PDFs (a minimal PDF 1.4 writer) and a
// corpus of small text files whose words follow a Zipf-like distribution over a made-up vocabulary.

/** A small deterministic PRNG (mulberry32): the same corpus on every run. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A valid one-page PDF 1.4: catalog, pages, a page, Helvetica (WinAnsi) and one uncompressed content
 * stream that writes `lines` top to bottom; the xref table holds each object's byte offset.
 * Lines are ASCII; ( ) and \ are escaped.
 */
export function makePdf(lines) {
  const esc = (s) => s.replace(/[\\()]/g, (c) => '\\' + c);
  const content = ['BT', '/F1 11 Tf', '14 TL', '72 720 Td', ...lines.map((l) => `(${esc(l)}) Tj T*`), 'ET'].join('\n');
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
  ];
  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets = [];
  objs.forEach((o, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** Letters for a number (0 → "a", 25 → "z", 26 → "ba"): a word unique to one file. */
export function letters(n) {
  let s = '';
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

const SUBJECTS = ['The quarterly report', 'Our northern warehouse', 'The audit committee', 'A new supplier', 'The shipping office', 'The board'];
const VERBS = ['noted', 'confirmed', 'questioned', 'approved', 'postponed', 'reviewed'];
const OBJECTS = ['the freight costs', 'the insurance claim', 'the spring inventory', 'the customs filing', 'the lease renewal', 'the payroll change'];

/** The text lines of PDF number i: a few sentences that differ per file, with the word `pdfmark<letters(i)>` in it. */
export function pdfLines(i) {
  const r = rng(1000 + i);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const lines = [`Memo ${i + 1} on the matter of pdfmark${letters(i)}.`];
  for (let k = 0; k < 6; k++) lines.push(`${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)} on day ${1 + Math.floor(r() * 28)} (item ${Math.floor(r() * 1000)}).`);
  return lines;
}

/** `size` distinct made-up words of 2 to 4 syllables (no q or x, so markers starting with qx never collide). */
export function vocabulary(size, seed = 7) {
  const r = rng(seed);
  const C = 'bcdfghjklmnprstvwz';
  const V = 'aeiou';
  const words = new Set();
  while (words.size < size) {
    let w = '';
    const syl = 2 + Math.floor(r() * 3);
    for (let k = 0; k < syl; k++) w += C[Math.floor(r() * C.length)] + V[Math.floor(r() * V.length)];
    words.add(w);
  }
  return [...words];
}

/** Rare words, each in MARKER_FILES of the corpus's files. */
export const MARKERS = ['qxaurora', 'qxbasalt', 'qxcinder', 'qxdelta', 'qxember'];
export const MARKER_FILES = 3;

/**
 * A corpus of `n` text documents of 200–400 words drawn from `vocab` with Zipf weights (rank r has
 * weight 1/r), in sentences of 6–15 words; MARKERS[m] is in files (m * 1009 + j * 2003) % n, j < MARKER_FILES.
 */
export function* corpus(n, vocab, seed = 11) {
  const r = rng(seed);
  const cdf = [];
  let sum = 0;
  for (let k = 0; k < vocab.length; k++) cdf.push((sum += 1 / (k + 1)));
  const word = () => {
    const u = r() * sum;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return vocab[lo];
  };
  const markersOf = new Map();
  MARKERS.forEach((m, mi) => {
    for (let j = 0; j < MARKER_FILES; j++) {
      const f = (mi * 1009 + j * 2003) % n;
      markersOf.set(f, [...(markersOf.get(f) ?? []), m]);
    }
  });
  for (let i = 0; i < n; i++) {
    const total = 200 + Math.floor(r() * 201);
    const words = [];
    for (let k = 0; k < total; k++) words.push(word());
    for (const m of markersOf.get(i) ?? []) words.splice(Math.floor(r() * words.length), 0, m);
    const sentences = [];
    for (let k = 0; k < words.length; ) {
      const len = 6 + Math.floor(r() * 10);
      const s = words.slice(k, k + len).join(' ');
      sentences.push(s[0].toUpperCase() + s.slice(1) + '.');
      k += len;
    }
    yield sentences.join(' ') + '\n';
  }
}
