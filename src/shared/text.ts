/**
 * Escapes control, bidi and other invisible characters so that a hostile object key cannot
 * forge lines or reorder text in a one-line summary. structuredContent keeps the exact bytes.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

export function escapeText(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Characters JSON.stringify leaves as they are but that must not reach a reader raw (DEL, C1, bidi, invisible). */
const JSON_UNSAFE = /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

/**
 * Compact JSON for a tool result's text: what an agent reads when it gets the text alone. Control
 * characters are escaped by JSON itself; bidi and invisible ones are escaped too (still valid JSON),
 * so a hostile key cannot reorder or hide what the reader sees.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value).replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Escapes a document's text for reading: newlines and tabs stay real, every other unsafe character is escaped. */
export function escapeContent(s: string): string {
  return s.replace(UNSAFE, (c) => {
    if (c === '\n' || c === '\t') return c;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** UTF-8 bytes a string takes once JSON-escaped, for page budgets. */
export function jsonBytes(s: string): number {
  return Buffer.byteLength(JSON.stringify(s));
}

/** Shortens a string for a summary line, keeping it on one line and escaped. */
export function brief(s: string, max = 80): string {
  const e = escapeText(s);
  return e.length > max ? e.slice(0, max - 1) + '…' : e;
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
