import { describe, expect, it } from 'vitest';
import { foldWords } from '../../src/shared/search-words.js';

/** The folding rules both stores index by and every query folds by (shared/search-words.ts). */
describe('foldWords', () => {
  it('lower-cases and removes Latin and Greek diacritics; other letters keep theirs', () => {
    expect(foldWords('Zürich ZURICH Crème brûlée')).toEqual(['zurich', 'zurich', 'creme', 'brulee']);
    expect(foldWords('ΚΑΛΗΜΈΡΑ καλημέρα Ἀλήθεια ᾠδή')).toEqual(['καλημερα', 'καλημερα', 'αληθεια', 'ωδη']);
    expect(foldWords('йод ёлка øre Straße')).toEqual(['йод', 'ёлка', 'øre', 'straße']);
  });

  it('folds Greek final sigma, whatever the case it was typed in', () => {
    expect(foldWords('ΟΔΟΣ οδος οδοσ')).toEqual(['οδοσ', 'οδοσ', 'οδοσ']);
  });

  it('composes decomposed text first (NFD from macOS or a PDF): the same word as its composed form', () => {
    expect(foldWords('Zu\u0308rich')).toEqual(['zurich']);
    expect(foldWords('\u0438\u0306\u043e\u0434')).toEqual(['йод']);
    expect(foldWords('\u1112\u1161\u11ab')).toEqual(['한']);
    expect(foldWords('İstanbul')).toEqual(['istanbul']);
  });

  it('keeps Indic and Thai marks inside their words', () => {
    expect(foldWords('हिन्दी भाषा')).toEqual(['हिन्दी', 'भाषा']);
    expect(foldWords('தமிழ் মাতৃভাষা')).toEqual(['தமிழ்', 'মাতৃভাষা']);
    expect(foldWords('ภาษาไทย')).toEqual(['ภาษาไทย']);
  });

  it('drops Arabic harakat, tatweel and Hebrew points: vocalized and plain spellings are one word', () => {
    expect(foldWords('كَتَبَ كتـــب كتب')).toEqual(['كتب', 'كتب', 'كتب']);
    expect(foldWords('שָׁלוֹם שלום')).toEqual(['שלום', 'שלום']);
    // The maqaf (Hebrew hyphen) and the Arabic comma still separate words.
    expect(foldWords('בית־ספר قلم، كتاب')).toEqual(['בית', 'ספר', 'قلم', 'كتاب']);
  });

  it('removes soft hyphens, zero-width joiners and variation selectors inside words; overlays fold away', () => {
    expect(foldWords('exam\u00adple zero\u200dwidth non\u200cjoiner word\u2060joiner \ufeffbom')).toEqual(['example', 'zerowidth', 'nonjoiner', 'wordjoiner', 'bom']);
    expect(foldWords('1\ufe0f\u20e3 s\u0336a\u0336l\u0336e\u0336')).toEqual(['1', 'sale']);
  });

  it('cuts at everything else: punctuation, symbols, emoji, private-use characters', () => {
    expect(foldWords('e-mail, state-of-the-art! ❤️ \ue000bullet 4e2b1c')).toEqual(['e', 'mail', 'state', 'of', 'the', 'art', 'bullet', '4e2b1c']);
    expect(foldWords('  ')).toEqual([]);
    expect(foldWords('\u0301\u0336')).toEqual([]);
  });
});
