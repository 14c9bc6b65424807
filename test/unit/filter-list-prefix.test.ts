/**
 * What a pattern lists: its literal head, never past a backslash (an escape makes the next character
 * literal, so the raw text from there on is not the key's), and everything for a negated pattern,
 * which matches keys outside its head.
 */
import { describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/core/domain/filter.js';

const listed = (prefix: string, pattern: string) => compileFilter(prefix, pattern).listPrefix;

describe('the listing prefix of a pattern', () => {
  it('is the literal head, cut at the first backslash', () => {
    expect(listed('', 'reports/**/*.csv')).toBe('reports/');
    expect(listed('in/', 'dir/x.txt')).toBe('in/dir/x.txt');
    expect(listed('', 'star\\*.txt')).toBe('star');
    expect(listed('', '\\[brk\\].txt')).toBe('');
    expect(listed('', 'a\\*b/*.txt')).toBe('a');
    expect(listed('', 'a\\\\b.txt')).toBe('a');
  });
  it('lists keys the escaped pattern matches', () => {
    for (const [pattern, key] of [['star\\*.txt', 'star*.txt'], ['\\[brk\\].txt', '[brk].txt'], ['a\\*b/*.txt', 'a*b/c.txt'], ['a\\\\b.txt', 'a\\b.txt'], ['x\\?y', 'x?y']]) {
      const f = compileFilter('', pattern);
      expect({ pattern, listed: key!.startsWith(f.listPrefix), matches: f.matches(key!) }).toEqual({ pattern, listed: true, matches: true });
    }
    expect(compileFilter('', 'star\\*.txt').matches('starA.txt')).toBe(false);
  });
  it('is the whole prefix for a negated pattern', () => {
    const f = compileFilter('in/', '!x/*.txt');
    expect(f.listPrefix).toBe('in/');
    expect(f.matches('in/y/a.txt')).toBe(true);
    expect(f.matches('in/x/a.txt')).toBe(false);
  });
});
