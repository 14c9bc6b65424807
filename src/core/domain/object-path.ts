/**
 * The one check of object paths that cloudport writes under a connector's export_base_path: the
 * base path itself, path templates, and each rendered path. A path that passes stays under the
 * base on every store and URL parser (no absolute paths, no "." / ".." segments, plain or
 * percent-encoded, no backslash, encoded separators only inside a name (never leaving an empty, "."
 * or ".." part once decoded), no control characters).
 */

/** Bidi controls and invisible characters: refused in paths a person or agent writes (a base path, a template). */
const INVISIBLE = /[\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/;

/**
 * Why a path (relative to the base path) is refused, or null when it stays under the base.
 * `written`: the path is typed by a person or agent (not rendered from object keys), so invisible
 * and bidi characters, which make it read differently from what it is, are refused too.
 */
export function pathProblem(rel: string, opts: { written?: boolean } = {}): string | null {
  if (!rel) return 'the path is empty';
  if (rel.startsWith('/')) return 'the path is absolute';
  if (rel.includes('\\')) return 'the path contains a backslash';
  if (/[\u0000-\u001f\u007f-\u009f]/.test(rel)) return 'the path contains control characters';
  if (opts.written && INVISIBLE.test(rel)) return 'the path contains bidi or invisible characters';
  for (const seg of rel.split('/')) {
    if (seg === '') return 'the path has an empty segment ("//" or a trailing "/")';
    if (seg === '.' || seg === '..') return `the path has a "${seg}" segment`;
    // Typed by someone: a space at a name's edge is a slip (stores keep it, and a folder " out" reads as "out").
    if (opts.written && /^\s|\s$/.test(seg)) return `the path has a segment that begins or ends with a space (${JSON.stringify(seg)})`;
    // URL parsers resolve percent-encoded dot segments too (%2e%2e), and a server that decodes %2f / %5c
    // sees separators: decoded, no part between them may be empty, "." or "..". (A Drive name with "/"
    // is a key segment with %2F in it, and stays one file's name.)
    // Only the escapes of ".", "/" and "\\" matter here; decoding them alone needs no valid rest (a stray %zz).
    const decoded = seg.replace(/%2e/gi, '.').replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
    if (decoded !== seg && decoded.split(/[/\\]/).some((part) => part === '' || part === '.' || part === '..')) {
      return 'the path has an encoded "." / ".." segment, or an encoded separator at an end or doubled';
    }
  }
  return null;
}
