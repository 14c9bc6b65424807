import { invalid } from '../../shared/errors.js';

/**
 * A name an organization gives (a connector's, an automation's), as stored: trimmed, one spelling (NFC:
 * "café" typed composed or decomposed is one name, not two), 1-100 characters, no control characters,
 * and no invisible or bidi ones, which make two names that read the same. (ZWNJ and ZWJ stay: Persian
 * spelling and emoji sequences need them.)
 */
export function checkName(name: string, example: string): string {
  const n = name.trim().normalize('NFC');
  const chars = [...n].length;
  if (chars < 1 || chars > 100) throw invalid('name', 'name must be 1-100 characters', `Choose a short, unique name (not only spaces) such as "${example}".`);
  if (/[\u0000-\u001f\u007f]/.test(n)) throw invalid('name', 'name must not contain control characters', `Remove tabs, line breaks and other control characters; a short name such as "${example}" fits.`);
  if (/[\u00ad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff]/.test(n)) throw invalid('name', 'name must not contain invisible or bidi characters', `Type the name with visible characters only, e.g. "${example}".`);
  return n;
}
