/**
 * Key filters and "." / ".." segments: * and ** match them, and the rest of the glob syntax means what
 * picomatch means (? and ?? over dot segments, braces, classes, ".?"), and keys holding the private-use
 * character the matching uses inside match nothing they should not.
 */
import { describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/core/domain/filter.js';

const m = (pattern: string, key: string) => compileFilter('', pattern).matches(key);

describe('key filters and dot segments', () => {
  it('? matches one character, ?? two, of a ".." segment as of any other', () => {
    expect({ q2: m('a/??/b', 'a/../b'), q1: m('a/?/b', 'a/../b') }).toEqual({ q2: true, q1: false });
  });
  it('a dot segment written as a brace, a class or ".?" still matches (picomatch matched these before)', () => {
    expect({ brace: m('{.,..}/x', './x'), cls: m('a/[.][.]/b', 'a/../b'), dotq: m('a/.?/b', 'a/../b') }).toEqual({ brace: true, cls: true, dotq: true });
  });
  it('a key with a private-use character is not a key with a dot segment', () => {
    expect({ pattern: m('a/../b', 'a/\uE001/b'), exclude: compileFilter('', undefined, ['a/./**']).matches('a/\uE000/x') }).toEqual({ pattern: false, exclude: true });
  });
});
