// Helpers every page in views/ uses; scripts/build-views.mjs puts them where a page says /*SHARED*/.

/** Bytes as B, KiB, MiB …; a missing count as a dash. */
const fmtBytes = (n) => {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
};

/**
 * Text as a page shows it: control, bidi and invisible characters escaped as tool text escapes them
 * (newlines and tabs stay), so a hostile key ("invoice\u202efdp.exe") cannot reorder or hide what the
 * reader sees. Text is never parsed as HTML either way.
 */
const UNSAFE_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}\u{e0100}-\u{e01ef}]/gu;
const shown = (s) =>
  String(s).replace(UNSAFE_TEXT, (c) => {
    const code = c.codePointAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
