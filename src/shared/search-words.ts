/**
 * Words as full-text search sees them, the same on both stores: each indexes text folded here
 * (PostgreSQL's 'simple' configuration, SQLite's FTS5 ascii tokenizer through cp_fold), with rules
 * taken from FTS5's unicode61 tokenizer with remove_diacritics 2: lower case; diacritics removed from
 * Latin letters only (é → e, ü → u; Cyrillic й and Greek ά keep theirs, ø and ß are letters of their
 * own); no other normalization (ﬁ, ² and full-width letters stay as they are); anything that is not a
 * letter or a digit a separator. So "Zürich", "ZURICH" and "zurich" are one word on both.
 */
const LATIN = /[\u00c0-\u024f\u1e00-\u1eff]/g;
/**
 * The combining marks FTS5 (unicode61, remove_diacritics 2) drops inside a word, those Latin letters
 * decompose to: an accent written as its own code point (NFD text, as macOS and some PDF producers
 * write it: "Zu\u0308rich") and the dot that lower-casing leaves after the i of "İ" ("i\u0307stanbul")
 * are no word break. The other marks of the block (a strikethrough's U+0336, Greek psili U+0313) are
 * word breaks to FTS5, and so here: a query folds as the index does.
 */
export const COMBINING_MARKS = '\\u0300-\\u0304\\u0306-\\u030c\\u030f\\u0311\\u031b\\u0323-\\u0328\\u032d\\u032e\\u0330\\u0331';
const COMBINING = new RegExp(`[${COMBINING_MARKS}]+`, 'g');

export function foldWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(COMBINING, '')
    .replace(LATIN, (c) => c.normalize('NFD').replace(/\p{M}+/gu, ''))
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** Text folded for PostgreSQL's to_tsvector('simple', …): its words joined by spaces. */
export function foldText(text: string): string {
  return foldWords(text).join(' ');
}
