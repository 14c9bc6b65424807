/**
 * Negated globs ("!secret/**") and keys with "." or ".." segments: the key must fail both ways (raw and
 * with its dot segments mapped), since raw, picomatch answers true exactly where ** cannot cross a dot
 * segment; a negated exclude keeps what it names.
 */
import { describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/core/domain/filter.js';

const m = (pattern: string, key: string) => compileFilter('', pattern).matches(key);

describe('negated globs and dot segments', () => {
  it('"!secret/**" refuses secret/../x.txt and secret/./x.txt as it refuses secret/x.txt', () => {
    expect({ plain: m('!secret/**', 'secret/x.txt'), dotdot: m('!secret/**', 'secret/../x.txt'), dot: m('!secret/**', 'secret/./x.txt') }).toEqual({ plain: false, dotdot: false, dot: false });
  });
  it('exclude ["!keep/**"] excludes keep/../x as it excludes other/x, and keeps keep/x', () => {
    const f = compileFilter('', undefined, ['!keep/**']);
    expect({ other: f.matches('other/x'), keep: f.matches('keep/x'), keepDots: f.matches('keep/../x') }).toEqual({ other: false, keep: true, keepDots: true });
  });
});
