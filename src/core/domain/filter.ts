import picomatch from 'picomatch';
import { invalid } from '../../shared/errors.js';
import { GlobUnsupported, linearMatcher, wildcardCount } from './glob.js';

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
 * Keys are names, not paths: picomatch never lets * or ** match a "." or ".." segment (a path's), so
 * `**` skipped `weird/../a.txt`, which a listing without a pattern imports. A key with such segments is
 * matched as is, and also with each of them as as many private-use characters (U+E000), against the
 * pattern mapped alike (a literal `..` segment in it stays equal to the key's); a key that holds U+E000
 * itself is matched as is only.
 */
const DOTS = '\uE000';
const hasDotSegment = (path: string) => path.split('/').some((s) => s === '.' || s === '..');
function plainSegments(path: string): string {
  return path.split('/').map((s) => (s === '.' || s === '..' ? DOTS.repeat(s.length) : s)).join('/');
}
/**
 * A picomatch matcher that also matches keys with dot segments as described above. A negated pattern
 * (!…) must hold both ways: raw, it is true exactly where ** cannot cross the dot segment.
 */
function picomatcher(pattern: string, opts: picomatch.PicomatchOptions): (s: string) => boolean {
  const raw = picomatch(pattern, opts);
  const mapped = picomatch(plainSegments(pattern), opts);
  const negated = picomatch.scan(pattern).negated;
  return (s) => {
    if (s.includes(DOTS) || !hasDotSegment(s)) return raw(s);
    const m = mapped(plainSegments(s));
    return negated ? raw(s) && m : raw(s) || m;
  };
}

/**
 * A glob's matcher: picomatch's, checked for syntax in any case; with several wildcards, the linear one
 * of glob.ts, as picomatch's regex can backtrack for minutes over a long key (a GlobUnsupported error
 * names a construct it does not take there).
 */
export function globMatcher(pattern: string, opts: { nocase?: boolean; strictBrackets?: boolean } = {}): (s: string) => boolean {
  const pm = picomatcher(pattern, { dot: true, ...opts });
  return wildcardCount(pattern) < 2 ? pm : linearMatcher(pattern, { nocase: !!opts.nocase });
}

/** The error for a glob that does not compile (field: pattern or exclude). */
function globError(field: string, glob: string, e: unknown) {
  if (e instanceof GlobUnsupported) {
    return invalid(field, `${field} ${JSON.stringify(glob.slice(0, 200))} has several wildcards and ${e.message}, which only a glob with one wildcard may use`, 'Move the fixed part into prefix, or split the glob (exclude takes a list); ranges such as {1..3} can be written out as {1,2,3}.');
  }
  return null;
}

/**
 * Parentheses and "|" are literal: keys such as "Copy (1).pdf" are common, and picomatch would read them
 * as a group ("(1)" matching "1") or an extglob. Only * ? [ ] { } and a leading ! are glob syntax; a
 * backslash escapes as before.
 */
export function literalGroups(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '\\') {
      out += ch + (glob[i + 1] ?? '');
      i++;
    } else out += ch === '(' || ch === ')' || ch === '|' ? `\\${ch}` : ch;
  }
  return out;
}

/** Whether a key (after the prefix) is one the exclude globs leave out (null: no excludes). */
export function excludeMatcher(exclude: string[] = []): ((rel: string) => boolean) | null {
  if (!exclude.length) return null;
  const excludes = exclude.map((p) => {
    try {
      return globMatcher(literalGroups(p), { strictBrackets: true });
    } catch (e) {
      throw globError('exclude', p, e) ?? invalid('exclude', `exclude ${JSON.stringify(p.slice(0, 200))} is not a valid glob: ${(e as Error).message}`, 'Use globs such as "*.tmp" or "**/drafts/**"; a literal [ or { is written \\[ or \\{.');
    }
  });
  return (rel) => excludes.some((m) => m(rel));
}

export function compileFilter(prefix = '', pattern?: string, exclude: string[] = [], skipPrefix?: string): KeyFilter {
  const f = keyFilter(prefix, pattern, exclude);
  // Keys under skipPrefix are left out whatever else matches (an import's own connector's exports).
  return skipPrefix ? { listPrefix: f.listPrefix, matches: (key) => !key.startsWith(skipPrefix) && f.matches(key) } : f;
}

function keyFilter(prefix: string, pattern: string | undefined, exclude: string[]): KeyFilter {
  if (prefix.length > 1024) throw invalid('prefix', 'prefix is longer than 1024 characters');
  const excluded = excludeMatcher(exclude);
  if (!pattern) {
    return { listPrefix: prefix, matches: (key) => !(excluded && excluded(key.slice(prefix.length))) };
  }
  if (pattern.length > 1024) throw invalid('pattern', 'pattern is longer than 1024 characters');
  let scan: ReturnType<typeof picomatch.scan>;
  let isMatch: (s: string) => boolean;
  try {
    scan = picomatch.scan(pattern);
    isMatch = globMatcher(literalGroups(pattern), { strictBrackets: true });
  } catch (e) {
    throw globError('pattern', pattern, e) ?? invalid('pattern', `pattern is not a valid glob: ${(e as Error).message}`, 'Use globs such as "*.pdf", "reports/**/*.csv" or "{a,b}/*".');
  }
  // The listing narrows to the pattern's literal head, and stops at a backslash: an escape makes the next
  // character literal (`star\*.txt` is the key `star*.txt`), so the raw text from there on is not the key's.
  // A negated pattern (`!x/*.txt`) matches keys outside its head: the whole prefix is listed.
  const head = scan.negated ? '' : scan.isGlob ? (scan.base ? scan.base + '/' : '') : pattern;
  const escape = head.indexOf('\\');
  return {
    listPrefix: prefix + (escape < 0 ? head : head.slice(0, escape)),
    matches: (key) => {
      const rel = key.slice(prefix.length);
      return isMatch(rel) && !(excluded && excluded(rel));
    },
  };
}

/** Zero-byte "folder/" placeholder objects that consoles create; never imported or listed. */
export const isFolderMarker = (key: string, size: number) => size === 0 && key.endsWith('/');
