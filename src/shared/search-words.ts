/**
 * Words as full-text search sees them, the same on both stores: each indexes text folded here
 * (PostgreSQL's tsvector of these words, SQLite's FTS5 ascii tokenizer over cp_fold), and queries fold
 * alike. The rules:
 * - Unicode NFC first, so text written decomposed (NFD, as macOS and some PDF producers write it) is
 *   the same word as text written composed: "Zu\u0308rich" is "Zürich", Cyrillic "и\u0306" is "й".
 * - Lower case; Greek final sigma ς is σ (a query typed in capitals or mid-sentence finds the word).
 * - Latin and Greek letters lose their diacritics (é → e, ü → u, ά → α, ῷ → ω); other scripts keep
 *   theirs (Cyrillic й, ё); ø, ß and æ are letters of their own. The combining marks of the generic
 *   blocks (U+0300–036F and the like: a strikethrough's overlay, the dot lower-casing leaves after the i
 *   of "İ"), variation selectors, Arabic harakat and Hebrew points are dropped wherever they stand:
 *   vocalized and plain spellings are one word.
 * - Every other combining mark belongs to its word: Indic vowel signs and viramas, Thai vowels and tone
 *   marks ("हिन्दी" is one word, not four pieces).
 * - Characters that join letters without showing (soft hyphen, zero-width joiner and non-joiner, word
 *   joiner, byte order mark) and Arabic's tatweel (a stretch of the line) are removed: "exam\u00adple" is
 *   "example".
 * - A word starts with a letter or a digit; anything else is a separator. No other normalization (ﬁ, ²
 *   and full-width letters stay as they are).
 * Changing these rules changes every index's words: a migration refolds the stored chunks
 * (store/migrations.ts, "search words folded again").
 */
const INVISIBLE = /[\u00ad\u200c\u200d\u2060\ufeff\u0640]/g;
/** Latin and Greek letters, precomposed: their marks fold away. */
const DIACRITIC_SCRIPTS = /[\u00c0-\u024f\u1e00-\u1eff\u0370-\u03ff\u1f00-\u1fff]/g;
/** Marks dropped wherever they stand (as a regular-expression class body). */
const DROPPED_MARKS = '\\u0300-\\u036f\\ufe00-\\ufe0f\\u1ab0-\\u1aff\\u1dc0-\\u1dff\\u20d0-\\u20ff\\ufe20-\\ufe2f\\u0591-\\u05bd\\u05bf\\u05c1\\u05c2\\u05c4\\u05c5\\u05c7\\u0610-\\u061a\\u064b-\\u065f\\u0670';
const DROPPED = new RegExp(`[${DROPPED_MARKS}]+`, 'g');
/** Characters a word may hold after its first one, in text before folding (snippets find words by it). */
export const WORD_TAIL = '\\p{L}\\p{N}\\p{M}\\u00ad\\u200c\\u200d\\u2060\\ufeff';
const WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;
const FINAL_SIGMA = /ς/g;
const MARKS = /\p{M}+/gu;
/** Text with nothing past U+02FF (ASCII, Latin letters, IPA, spacing modifiers), which NFC leaves as it is. */
const PLAIN = /^[\u0000-\u02ff]*$/;

export function foldWords(text: string): string[] {
  const composed = PLAIN.test(text) ? text : text.normalize('NFC');
  const folded = composed
    .toLowerCase()
    .replace(INVISIBLE, '')
    .replace(FINAL_SIGMA, 'σ')
    .replace(DIACRITIC_SCRIPTS, (c) => c.normalize('NFD').replace(MARKS, ''))
    .replace(DROPPED, '');
  return folded.match(WORD) ?? [];
}

/** Text folded for the full-text indexes: its words joined by spaces. */
export function foldText(text: string): string {
  return foldWords(text).join(' ');
}
