import picomatch from 'picomatch';
import { invalid } from '../../shared/errors.js';

/**
 * prefix + glob → what to list and how to match. The pattern is matched against the key after
 * `prefix` (the whole key without a prefix); only the pattern's literal head is listed, so
 * `incoming/**\/*.mp4` never lists outside `incoming/`. Dot files match; matching is case-sensitive.
 */
export interface KeyFilter {
  listPrefix: string;
  matches(key: string): boolean;
}

/**
 * A key's (or a pattern's) "." and ".." segments as private-use characters. Keys are names, not paths:
 * picomatch never lets * or ** match a dot segment (a path's "." and ".."), so `**` skipped
 * `weird/../a.txt`, which a listing without a pattern imports. The same mapping of the pattern keeps a
 * literal `..` segment in it matching the key's.
 */
const DOT_SEGMENTS: Record<string, string> = { '.': '\uE000', '..': '\uE001' };
function plainSegments(path: string): string {
  return path.includes('.') ? path.split('/').map((s) => DOT_SEGMENTS[s] ?? s).join('/') : path;
}

export function compileFilter(prefix = '', pattern?: string, exclude: string[] = []): KeyFilter {
  if (prefix.length > 1024) throw invalid('prefix', 'prefix is longer than 1024 characters');
  const excludedRaw = exclude.length ? picomatch(exclude.map(plainSegments), { dot: true }) : null;
  const excluded = excludedRaw && ((rel: string) => excludedRaw(plainSegments(rel)));
  if (!pattern) {
    return { listPrefix: prefix, matches: (key) => !(excluded && excluded(key.slice(prefix.length))) };
  }
  if (pattern.length > 1024) throw invalid('pattern', 'pattern is longer than 1024 characters');
  let scan: ReturnType<typeof picomatch.scan>;
  let isMatch: (s: string) => boolean;
  try {
    scan = picomatch.scan(pattern, { unescape: true });
    const compiled = picomatch(plainSegments(pattern), { dot: true, strictBrackets: true });
    isMatch = (rel) => compiled(plainSegments(rel));
  } catch (e) {
    throw invalid('pattern', `pattern is not a valid glob: ${(e as Error).message}`, 'Use globs such as "*.pdf", "reports/**/*.csv" or "{a,b}/*".');
  }
  const head = scan.isGlob ? (scan.base ? scan.base + '/' : '') : pattern;
  return {
    listPrefix: prefix + head,
    matches: (key) => {
      const rel = key.slice(prefix.length);
      return isMatch(rel) && !(excluded && excluded(rel));
    },
  };
}

/** Zero-byte "folder/" placeholder objects that consoles create; never imported or listed. */
export const isFolderMarker = (key: string, size: number) => size === 0 && key.endsWith('/');
