/**
 * Long texts are indexed in chunks of about CHUNK_TARGET bytes, cut at a paragraph, else a sentence,
 * else a line or a word boundary, so that a hit points to a place in the document (its offset) and a
 * snippet comes from the words around it. The chunks cover the text exactly, in order: their bodies
 * joined are the text, which read_item reads back by offset.
 */
export interface Chunk {
  seq: number;
  /** UTF-8 byte offset of the chunk in the text. */
  off: number;
  body: string;
}

const CHUNK_MIN = 2000;
const CHUNK_TARGET = 3000;
const CHUNK_MAX = 4000;

/** Where to end a chunk that starts at `from`: the best boundary between CHUNK_MIN and CHUNK_MAX characters on. */
function cutAt(text: string, from: number): number {
  if (text.length - from <= CHUNK_MAX) return text.length;
  const window = text.slice(from + CHUNK_MIN, from + CHUNK_MAX);
  const target = CHUNK_TARGET - CHUNK_MIN;
  const best = (re: RegExp): number => {
    let found = -1;
    for (const m of window.matchAll(re)) {
      const end = m.index + m[0].length;
      if (found < 0 || Math.abs(end - target) < Math.abs(found - target)) found = end;
    }
    return found;
  };
  // Last, any character that is no part of a word to the tokenizer (a comma, a quote, a brace): minified
  // JSON and one-line CSV have no space, and a cut inside a word would leave it unfindable in both halves.
  for (const re of [/\n\s*\n/g, /[.!?。！？]["')\]]?\s+/g, /\n/g, /\s+/g, /[^\p{L}\p{N}\p{M}\p{Co}]+/gu]) {
    const i = best(re);
    if (i > 0) return from + CHUNK_MIN + i;
  }
  // No boundary at all (one "word" of 2,000+ characters): cut between UTF-16 code units that are not a surrogate pair.
  let end = from + CHUNK_TARGET;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end++;
  return end;
}

export function chunkText(text: string): Chunk[] {
  const out: Chunk[] = [];
  let off = 0;
  for (let from = 0, seq = 0; from < text.length; seq++) {
    let end = cutAt(text, from);
    // Never between the two halves of a character outside the BMP (an emoji): each half alone is U+FFFD.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++;
    const body = text.slice(from, end);
    out.push({ seq, off, body });
    off += Buffer.byteLength(body, 'utf8');
    from = end;
  }
  return out;
}
