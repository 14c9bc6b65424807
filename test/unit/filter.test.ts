import { describe, expect, it } from 'vitest';
import { compileFilter, isFolderMarker } from '../../src/core/domain/filter.js';

describe('prefix + glob filter', () => {
  it('matches after the prefix; * stays in a folder, ** crosses', () => {
    const f = compileFilter('incoming/', '*.mp4');
    expect(f.listPrefix).toBe('incoming/');
    expect(f.matches('incoming/a.mp4')).toBe(true);
    expect(f.matches('incoming/.a.mp4')).toBe(true);
    expect(f.matches('incoming/x/a.mp4')).toBe(false);
    expect(f.matches('incoming/a.MP4')).toBe(false);
    const g = compileFilter('incoming/', '**/*.mp4');
    expect(g.matches('incoming/x/y/a.mp4')).toBe(true);
    expect(g.matches('incoming/a.mp4')).toBe(true);
  });
  it('lists only below the literal head of a pattern', () => {
    expect(compileFilter('', 'incoming/**/*.mp4').listPrefix).toBe('incoming/');
    expect(compileFilter('a/', 'b/c/*.txt').listPrefix).toBe('a/b/c/');
    expect(compileFilter('', '*.txt').listPrefix).toBe('');
    expect(compileFilter('', '{a,b}/*').listPrefix).toBe('');
    const exact = compileFilter('', 'docs/readme.md');
    expect(exact.listPrefix).toBe('docs/readme.md');
    expect(exact.matches('docs/readme.md')).toBe(true);
    expect(exact.matches('docs/readme.md.bak')).toBe(false);
  });
  it('rejects an invalid glob naming the field', () => {
    expect(() => compileFilter('', '[a-')).toThrow(expect.objectContaining({ kind: 'config_invalid', field: 'pattern' }));
  });
  it('recognizes zero-byte folder markers', () => {
    expect(isFolderMarker('a/', 0)).toBe(true);
    expect(isFolderMarker('a/', 3)).toBe(false);
    expect(isFolderMarker('a', 0)).toBe(false);
  });
});

describe('keys with "." or ".." segments (names, not paths)', () => {
  it('* and ** match them, a literal segment in the pattern matches its own, and excludes apply', () => {
    const all = compileFilter('', '**');
    expect(['weird/../dotdot.txt', './a.txt', 'a/./b', '..', 'x/..'].filter((k) => all.matches(k))).toEqual(['weird/../dotdot.txt', './a.txt', 'a/./b', '..', 'x/..']);
    expect(compileFilter('', 'weird/*/*.txt').matches('weird/../dotdot.txt')).toBe(true);
    expect(compileFilter('', 'weird/../*.txt').matches('weird/../dotdot.txt')).toBe(true);
    expect(compileFilter('', 'weird/../*.txt').matches('weird/x/dotdot.txt')).toBe(false);
    expect(compileFilter('', '**', ['**/../**']).matches('weird/../dotdot.txt')).toBe(false);
    expect(compileFilter('', '**', ['**/../**']).matches('weird/x/dotdot.txt')).toBe(true);
    expect(compileFilter('', 'weird/../*.txt').listPrefix).toBe('weird/../');
  });
});
