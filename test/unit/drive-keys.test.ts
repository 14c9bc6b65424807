import { describe, expect, it } from 'vitest';
import { escapeName, keySegments, nameChildren, unescapeName } from '../../src/providers/google-drive/keys.js';

const file = (id: string, name: string, createdTime: string, mimeType = 'application/pdf') => ({ id, name, createdTime, mimeType });

describe('Google Drive keys', () => {
  it('escapes "/" and "%" in names reversibly, so keys split on "/"', () => {
    for (const name of ['a/b', '100%', '%2F', 'plain', 'ünï/cödé%', '']) {
      const seg = escapeName(name);
      expect(seg).not.toContain('/');
      expect(unescapeName(seg)).toBe(name);
    }
    expect(escapeName('Q3/Q4 50%')).toBe('Q3%2FQ4 50%25');
    expect(keySegments('Reports/2026/Q3%2FQ4.pdf')).toEqual(['Reports', '2026', 'Q3%2FQ4.pdf']);
  });

  it('gives the oldest of same-named children the plain name and the others their ids, whatever the order', () => {
    const kids = [file('idC', 'q3.pdf', '2026-03-01T00:00:00Z'), file('idA', 'q3.pdf', '2026-01-01T00:00:00Z'), file('idB', 'notes', '2026-02-01T00:00:00Z', 'text/plain'), file('idD', 'notes', '2026-02-02T00:00:00Z', 'text/plain')];
    const names = nameChildren(kids);
    expect(Object.fromEntries(names)).toEqual({ idA: 'q3.pdf', idC: 'q3 (idC).pdf', idB: 'notes', idD: 'notes (idD)' });
    expect(Object.fromEntries(nameChildren([...kids].reverse()))).toEqual(Object.fromEntries(names));
    // A later duplicate never renames the key an earlier file has.
    const later = nameChildren([...kids, file('idE', 'q3.pdf', '2027-01-01T00:00:00Z')]);
    expect(later.get('idA')).toBe('q3.pdf');
    expect(later.get('idE')).toBe('q3 (idE).pdf');
  });

  it('exported native files carry their extension and are told apart from real files of that name', () => {
    const names = nameChildren([
      file('doc1', 'Plan', '2026-01-01T00:00:00Z', 'application/vnd.google-apps.document'),
      file('real', 'Plan.docx', '2026-02-01T00:00:00Z', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'),
      file('sheet', 'Budget', '2026-01-01T00:00:00Z', 'application/vnd.google-apps.spreadsheet'),
      file('deck', 'Deck', '2026-01-01T00:00:00Z', 'application/vnd.google-apps.presentation'),
    ]);
    expect(Object.fromEntries(names)).toEqual({ doc1: 'Plan.docx', real: 'Plan (real).docx', sheet: 'Budget.xlsx', deck: 'Deck.pdf' });
  });

  it('a hand-made name that equals a derived one keeps the plain name; the derived one takes its id again', () => {
    const names = nameChildren([file('x1', 'a.txt', '2026-01-01T00:00:00Z'), file('x2', 'a.txt', '2026-01-02T00:00:00Z'), file('y', 'a (x2).txt', '2026-01-03T00:00:00Z')]);
    expect(names.get('y')).toBe('a (x2).txt');
    expect(names.get('x2')).toBe('a (x2) (x2).txt');
    expect(new Set(names.values()).size).toBe(3);
  });
});
