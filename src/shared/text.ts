/**
 * Escapes control, bidi and other invisible characters so that a hostile object key cannot
 * forge lines or reorder text in a one-line summary. structuredContent keeps the exact bytes.
 * Beyond the BMP: the tag characters (U+E0000–E007F, invisible, and read by models as letters: a way
 * to smuggle instructions past a human reader) and the variation selectors supplement.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}\u{e0100}-\u{e01ef}]/gu;

/** One unsafe character as an escape a reader sees: \xNN, \uNNNN, or \u{NNNNN} beyond the BMP. */
function escapeOne(c: string): string {
  const code = c.codePointAt(0)!;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

export function escapeText(s: string): string {
  return s.replace(UNSAFE, escapeOne);
}

/** Characters JSON.stringify leaves as they are but that must not reach a reader raw (DEL, C1, bidi, invisible). */
const JSON_UNSAFE = /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}\u{e0100}-\u{e01ef}]/gu;

/**
 * Compact JSON for a tool result's text: what an agent reads when it gets the text alone. Control
 * characters are escaped by JSON itself; bidi and invisible ones are escaped too (still valid JSON: a
 * character beyond the BMP as its two UTF-16 escapes), so a hostile key cannot reorder or hide what the
 * reader sees.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value).replace(JSON_UNSAFE, (c) => [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''));
}

/**
 * Escapes a document's text for reading: newlines and tabs stay real, a Windows line end (CR LF) reads as
 * a newline, and every other unsafe character is escaped (a lone CR too: it could overwrite a line).
 */
export function escapeContent(s: string): string {
  return s.replace(/\r\n/g, '\n').replace(UNSAFE, (c) => (c === '\n' || c === '\t' ? c : escapeOne(c)));
}

/** UTF-8 bytes a string takes in a result's text (jsonText's escaping), for page budgets. */
export function jsonBytes(s: string): number {
  return Buffer.byteLength(jsonText(s));
}

/**
 * Shortens a string for a summary line, keeping it on one line and escaped. The cut falls between
 * characters, never inside a surrogate pair or an escape.
 */
export function brief(s: string, max = 80): string {
  const e = escapeText(s);
  if (e.length <= max) return e;
  let out = '';
  for (const c of s) {
    const piece = c.replace(UNSAFE, escapeOne);
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return out + '…';
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
