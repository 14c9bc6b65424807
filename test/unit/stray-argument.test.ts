/**
 * A stray argument is quoted in the error only when it is a word (a misspelled subcommand): anything
 * else may be a secret whose flag was left out (`cloudport auth google-drive --client-id X S3cretVALUE`),
 * and an error goes to the terminal and to logs.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig, shownArgument } from '../../src/config.js';

describe('a stray argument in an error', () => {
  it('shows a word, never a secret-like value', () => {
    expect(shownArgument('lsit')).toBe('"lsit"');
    expect(shownArgument('S3cretVALUE')).toMatch(/^\(11 characters, not shown/);
    expect(shownArgument('GOCSPX-abcdefghijklmnopqrstuvwxyz')).toMatch(/not shown/);
    expect(shownArgument('abc/def+ghi=')).toMatch(/not shown/);
  });
  it('is not repeated by the server command line', () => {
    let err: Error | undefined;
    try {
      parseConfig(['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'], {});
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(/unexpected argument \(40 characters, not shown/);
    expect(err?.message).not.toContain('wJalr');
  });
});
