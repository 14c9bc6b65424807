/**
 * Words as full-text search sees them, the same on both stores: lower case, diacritics removed
 * (NFKD, marks dropped), anything that is not a letter or a digit a separator. SQLite's FTS5
 * tokenizer (unicode61, remove_diacritics 2) does this itself; PostgreSQL's 'simple' configuration
 * indexes text folded here, so "Zürich", "ZURICH" and "zurich" are one word on both.
 */
export function foldWords(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** Text folded for PostgreSQL's to_tsvector('simple', …): its words joined by spaces. */
export function foldText(text: string): string {
  return foldWords(text).join(' ');
}
