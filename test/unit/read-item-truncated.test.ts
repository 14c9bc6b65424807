/**
 * read_item's note at the end of a text cut at a limit, with a store and blob stub as in
 * read-item-pending.test.ts: where it appears, what it offers (raw: true where the stored bytes are
 * text, the limit that was hit, as the operator's setting), and an empty text cut at the page limit.
 */
import { describe, expect, it } from 'vitest';
import { IndexService } from '../../src/core/indexes/service.js';
import type { TextInfo } from '../../src/store/types.js';

function service(content: Buffer, contentType: string, info: TextInfo, text: string) {
  const store = {
    indexExists: async () => true,
    getItem: async (_org: string, _index: string, key: string) => ({ key, size: content.length, sha256: 'a'.repeat(64), content_type: contentType }),
    textInfo: async () => new Map([['a'.repeat(64), info]]),
    readText: async (_sha: string, offset: number, length: number) => [{ off: offset, body: Buffer.from(text, 'utf8').subarray(offset, offset + length).toString('utf8') }],
  };
  const blobs = { read: async (_sha: string, offset: number, length: number) => content.subarray(offset, offset + length) };
  return new IndexService(store as never, blobs as never);
}

const words = 'alpha beta gamma '.repeat(100);
const html = Buffer.from(`<html><body><p>${words}</p><p>${'omega '.repeat(500)}tailword</p></body></html>`);
const cutHtml: TextInfo = { status: 'truncated', detail: 'the first 1 KiB of text (text limit)', format: 'html', derived: true, bytes: 1024 };

describe('read_item: the note at the end of a text cut at a limit', () => {
  it('appears at the end only, never on raw reads or windows that end before the end', async () => {
    const svc = service(html, 'text/html', cutHtml, words.slice(0, 1024));
    expect((await svc.readItem('org_a', 'docs', 'p.html')).note).toMatch(/^the extracted text ends here/);
    expect((await svc.readItem('org_a', 'docs', 'p.html', 1000, 24)).note).toMatch(/^the extracted text ends here/);
    expect((await svc.readItem('org_a', 'docs', 'p.html', 1024)).note).toMatch(/^the extracted text ends here/);
    expect((await svc.readItem('org_a', 'docs', 'p.html', 0, 1023)).note).toBeUndefined();
    expect((await svc.readItem('org_a', 'docs', 'p.html', 0, 32768, true)).note).toBeUndefined();
    const full = service(html, 'text/html', { ...cutHtml, status: 'extracted', detail: null }, words.slice(0, 1024));
    expect((await full.readItem('org_a', 'docs', 'p.html')).note).toBeUndefined();
    // Plain UTF-8 text cut for search is read from its stored bytes, in full; the note says what search covers.
    const txt = Buffer.from(words + 'tailword');
    const plain = service(txt, 'text/plain', { status: 'truncated', detail: 'the first 1 KiB of 2 KiB (text limit)', format: 'text', derived: false, bytes: 1024 }, '');
    const r = await plain.readItem('org_a', 'docs', 'a.txt');
    expect(r.text).toContain('tailword');
    expect(r.note).toMatch(/^search covers the first 1024 bytes of this text/);
  });

  it('HTML/XML (and decoded 8-bit text) cut at the text limit: the note says raw: true reads the rest now', async () => {
    const svc = service(html, 'text/html', cutHtml, words.slice(0, 1024));
    const r = await svc.readItem('org_a', 'docs', 'p.html');
    // Control: the stored bytes do hold the rest of the document.
    expect((await svc.readItem('org_a', 'docs', 'p.html', 0, 32768, true)).text).toContain('tailword');
    expect(r.note).toMatch(/raw: true reads the stored bytes, whole; the server's operator can raise CLOUDPORT_EXTRACT_MAX_TEXT_BYTES and restart it/);
  });

  it('names only the limit that was hit (a DOCX cut at the text limit is not helped by CLOUDPORT_EXTRACT_MAX_PAGES)', async () => {
    const docx = Buffer.from('PK\x03\x04 stub');
    const svc = service(docx, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', { status: 'truncated', detail: 'the first 2 MiB of text (text limit)', format: 'docx', derived: true, bytes: 20 }, 'twenty bytes of text');
    const r = await svc.readItem('org_a', 'docs', 'c.docx');
    expect(r.note).toContain('CLOUDPORT_EXTRACT_MAX_TEXT_BYTES');
    expect(r.note).not.toContain('CLOUDPORT_EXTRACT_MAX_PAGES');
  });

  it('a PDF whose pages within the page limit hold no text (status empty, detail the page limit): the note names the limit', async () => {
    const pdf = Buffer.from('%PDF-1.7\n%%EOF\n');
    const svc = service(pdf, 'application/pdf', { status: 'empty', detail: 'the first 1 of 40 pages (page limit)', format: 'pdf', derived: true, bytes: 0 }, '');
    const r = await svc.readItem('org_a', 'docs', 'scan.pdf');
    expect(r.note).toMatch(/^pdf document, no text found in the first 1 of 40 pages \(page limit\); the server's operator can raise CLOUDPORT_EXTRACT_MAX_PAGES and restart it/);
  });
});
