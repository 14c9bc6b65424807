/**
 * Words as full-text search sees them, the same on both stores, as SQLite's FTS5 tokenizer
 * (unicode61, remove_diacritics 2) sees them: lower case; diacritics removed from Latin letters only
 * (é → e, ü → u; Cyrillic й and Greek ά keep theirs, ø and ß are letters of their own); no other
 * normalization (ﬁ, ² and full-width letters stay as they are); anything that is not a letter or a
 * digit a separator. PostgreSQL's 'simple' configuration indexes text folded here, so "Zürich",
 * "ZURICH" and "zurich" are one word on both.
 */
const LATIN = /[\u00c0-\u024f\u1e00-\u1eff]/g;
/**
 * Combining diacritical marks, which FTS5 drops inside a word: an accent written as its own code point
 * (NFD text, as macOS and some PDF producers write it: "Zu\u0308rich") and the dot that lower-casing
 * leaves after the i of "İ" ("i\u0307stanbul") are no word break.
 */
const COMBINING = /[\u0300-\u036f]+/g;

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
