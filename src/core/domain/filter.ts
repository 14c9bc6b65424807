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

export function compileFilter(prefix = '', pattern?: string, exclude: string[] = []): KeyFilter {
  if (prefix.length > 1024) throw invalid('prefix', 'prefix is longer than 1024 characters');
  const excluded = exclude.length ? picomatch(exclude, { dot: true }) : null;
  if (!pattern) {
    return { listPrefix: prefix, matches: (key) => !(excluded && excluded(key.slice(prefix.length))) };
  }
  if (pattern.length > 1024) throw invalid('pattern', 'pattern is longer than 1024 characters');
  let scan: ReturnType<typeof picomatch.scan>;
  let isMatch: (s: string) => boolean;
  try {
    scan = picomatch.scan(pattern, { unescape: true });
    isMatch = picomatch(pattern, { dot: true, strictBrackets: true });
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
