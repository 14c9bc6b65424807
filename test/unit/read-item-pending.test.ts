/**
 * read_item on a document not extracted yet (a PDF imported with extraction off: no text row), with a
 * store and blob stub: whatever the length asked, a note naming reindex_index, never the stored bytes.
 */
import { describe, expect, it } from 'vitest';
import { IndexService } from '../../src/core/indexes/service.js';

const pdf = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n');

function service(content: Buffer, contentType: string) {
  const store = {
    indexExists: async () => true,
    getItem: async (_org: string, _index: string, key: string) => ({ key, size: content.length, sha256: 'a'.repeat(64), content_type: contentType }),
    textInfo: async () => new Map(),
  };
  const blobs = { read: async (_sha: string, offset: number, length: number) => content.subarray(offset, offset + length) };
  return new IndexService(store as never, blobs as never);
}

describe('read_item of a document not extracted yet', () => {
  it('control: the default length answers the note', async () => {
    const r = await service(pdf, 'application/pdf').readItem('org_a', 'docs', 'doc.pdf');
    expect(r.text).toBeUndefined();
    expect(r.note).toMatch(/reindex_index/);
  });

  // At offset 0 the window read for the text (length + 3 bytes) is what detect() sniffs, and a PDF is
  // known by its first 5 bytes ("%PDF-"): length 1 reads 4, so the PDF is not recognised and its first
  // byte is shown as text ("%", next_offset 1), while the next call (offset 1, which re-reads 8 bytes
  // from 0) answers the note.
  it.each([1])('length %i answers the same note, not the stored bytes', async (length) => {
    const svc = service(pdf, 'application/pdf');
    const r = await svc.readItem('org_a', 'docs', 'doc.pdf', 0, length);
    expect({ text: r.text, note: r.note?.slice(0, 12) }).toEqual({ text: undefined, note: 'pdf document' });
  });
});
