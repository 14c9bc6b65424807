/**
 * Chunks are never cut between the two halves of a character outside the BMP (an emoji), also where the
 * last-resort cut at characters that are no part of a word meets a run of emoji: the chunk bodies hold
 * no lone surrogate, and their UTF-8 byte offsets add up to the text's.
 */
import { describe, expect, it } from 'vitest';
import { chunkText } from '../../src/core/search/chunks.js';

describe('chunk cuts in text of emoji (surrogate pairs) without spaces', () => {
  // One ASCII character first, so the window (characters 2000..4000) starts and ends inside a pair.
  const text = 'x' + '\u{1F600}'.repeat(3000);
  const chunks = chunkText(text);

  it('never cuts inside a surrogate pair: each chunk is well-formed UTF-16', () => {
    for (const c of chunks) expect(c.body.isWellFormed(), `chunk ${c.seq} at byte ${c.off}`).toBe(true);
  });

  it('chunks cover the text exactly as UTF-8, at their byte offsets', () => {
    const utf8 = Buffer.from(text, 'utf8');
    for (const c of chunks) expect(Buffer.from(c.body, 'utf8').equals(utf8.subarray(c.off, c.off + Buffer.byteLength(c.body, 'utf8')))).toBe(true);
  });
});
