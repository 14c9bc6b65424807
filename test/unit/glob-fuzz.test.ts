/**
 * The linear glob matcher (src/core/domain/glob.ts) answers as picomatch does, on random patterns with
 * several wildcards (stars, globstars, ?, bracket expressions, braces, negation) and random keys without
 * "." or ".." segments (where it deliberately lets wildcards match: keys are names) or empty ones,
 * and it stays fast on the patterns that make picomatch's regex backtrack for minutes.
 */
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { GlobUnsupported, linearMatcher, wildcardCount } from '../../src/core/domain/glob.js';
import { compileFilter } from '../../src/core/domain/filter.js';

function fuzz(seed: number, rounds: number, nocase: boolean): string[] {
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const PT = ['a', 'b', 'B', 'c', '/', '*', '**', '?', '[ab]', '[!a]', '[^b]', '[a-c]', '{a,b}', '{a,}', '{,b/}', '.', 'ab', '**/', '/**', '\\*', '[[:alpha:]]'];
  const KT = ['a', 'b', 'A', 'c', '/', '.', 'ab', 'ba', 'aa', '*'];
  const diffs: string[] = [];
  for (let t = 0; t < rounds && diffs.length < 10; t++) {
    let p = '';
    const pl = 1 + Math.floor(rnd() * 6);
    for (let i = 0; i < pl; i++) p += pick(PT);
    if (rnd() < 0.1) p = '!' + p;
    if (wildcardCount(p) < 2) continue;
    let pm: (s: string) => boolean;
    let lm: (s: string) => boolean;
    try {
      pm = picomatch(p, { dot: true, strictBrackets: true, nocase });
    } catch {
      continue;
    }
    try {
      lm = linearMatcher(p, { nocase });
    } catch (e) {
      if (e instanceof GlobUnsupported) continue;
      throw e;
    }
    for (let k = 0; k < 8; k++) {
      let s = '';
      const kl = 1 + Math.floor(rnd() * 7);
      for (let i = 0; i < kl; i++) s += pick(KT);
      // Dot segments are names here (a deliberate difference); empty segments ("a//b", "a/") differ in
      // corner cases of picomatch's regex and fast paths (docs/decisions/glob-matching.md).
      if (s.split('/').some((x) => x === '.' || x === '..' || x === '')) continue;
      if (pm(s) !== lm(s)) diffs.push(`${JSON.stringify(p)} ${JSON.stringify(s)}: picomatch ${pm(s)}, linear ${lm(s)}`);
    }
  }
  return diffs;
}

describe('linear glob matcher', () => {
  it('answers as picomatch on random patterns and keys', () => {
    expect(fuzz(1, 60_000, false)).toEqual([]);
    expect(fuzz(7, 20_000, true)).toEqual([]);
  });

  it('matches a long key that almost matches a many-star pattern at once', () => {
    const key = 'a'.repeat(1000);
    const t = performance.now();
    for (const p of ['*a*a*a*b', '*a*a*a*a*a*a*b', '**/*a*a*b', '**/**/**/**/x']) expect(linearMatcher(p)(key)).toBe(false);
    expect(linearMatcher('**/**/**/**/x')('a/'.repeat(500) + 'y')).toBe(false);
    expect(linearMatcher('*a*a*a*')(key)).toBe(true);
    // Not a wall-clock assertion of speed: the quadratic worst case is bounded far below what picomatch takes.
    expect(performance.now() - t).toBeLessThan(5000);
  });

  it('is what pattern and exclude use once a glob has several wildcards; what it does not take is refused on the field', () => {
    const long = `r/${'a'.repeat(1000)}`;
    expect(compileFilter('r/', '*a*a*a*b').matches(long)).toBe(false);
    expect(compileFilter('r/', '*a*a*a*a').matches(long)).toBe(true);
    expect(compileFilter('r/', undefined, ['*a*a*a*b']).matches(long)).toBe(true);
    expect(compileFilter('', '**/*.{pdf,PDF}').matches('a/b/c.PDF')).toBe(true);
    expect(() => compileFilter('', '**/{1..3}/*.pdf')).toThrow(expect.objectContaining({ kind: 'config_invalid', field: 'pattern', fix: expect.stringContaining('{1,2,3}') }));
    expect(() => compileFilter('', undefined, ['*/{,x}/*'])).toThrow(expect.objectContaining({ kind: 'config_invalid', field: 'exclude' }));
    // One wildcard: picomatch as before, ranges included.
    expect(compileFilter('', 'f{1..3}.txt').matches('f2.txt')).toBe(true);
  });
});
