import fs from 'node:fs';
import path from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Search as an agent uses it, over stdio against a loopback S3 server: real documents (made by
 * LibreOffice and pandoc, see test/fixtures/documents/README.md) and hostile ones are imported, every
 * item gets a text_status, search_index finds words, phrases, prefixes and alternatives and leaves out
 * excluded words, its snippet's offset is where read_item reads, and deletes take items out of results.
 */
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/documents');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));

/** A DOCX whose zip directory promises 200 MiB of XML: refused by the pre-scan without inflating it. */
function zipBomb(): Buffer {
  return Buffer.from(zipSync({ '[Content_Types].xml': strToU8('<Types/>'), 'word/document.xml': new Uint8Array(200 * 1024 * 1024) }, { level: 9 }));
}

/** Markup nested far deeper than any recursive parser survives. */
const deepHtml = `<html><body>${'<div>'.repeat(200_000)}deepword${'</div>'.repeat(200_000)}</body></html>`;

async function text(cp: Running, name: string, args: Record<string, unknown>): Promise<string> {
  const r = await cp.client.callTool({ name, arguments: args });
  const t = (r.content as { type: string; text: string }[]).map((c) => c.text).join('\n');
  if (r.isError) throw new Error(`${name}: ${t}`);
  return t;
}

describe('search_index', () => {
  let env: S3Env;
  let cp: Running;
  let connectorId: string;

  beforeAll(async () => {
    env = await startS3Env(['docs']);
    for (const f of ['report.pdf', 'contract.docx', 'contract-lo.docx', 'budget.xlsx', 'encrypted.pdf', 'scanned-like.pdf', 'slides.pdf']) await env.s3.put('docs', `files/${f}`, fixture(f));
    await env.s3.put('docs', 'files/page.html', '<html><head><title>Pricing page</title><script>var hidden = "scriptword";</script><style>.x{color:red}</style></head><body><h1>Enterprise plan</h1><p>Billed annually &amp; includes the audit log.</p></body></html>', { contentType: 'text/html' });
    await env.s3.put('docs', 'files/notes.md', '# Meeting notes\n\nThe *governing law* question is open. Ask Søren about the e-mail.\n');
    await env.s3.put('docs', 'files/feed.xml', '<?xml version="1.0"?><feed><entry><title>Quokka sighting</title><note><![CDATA[seen at dawn]]></note></entry></feed>', { contentType: 'application/xml' });
    await env.s3.put('docs', 'files/ledger.csv', 'account,owner\n1001,Wallaby Holdings\n', { contentType: 'text/csv' });
    await env.s3.put('docs', 'odd/emoji.txt', 'party 🎉 time 😀😀 and more text after the emoji'); // no content type: octet-stream
    await env.s3.put('docs', 'odd/latebad.txt', Buffer.concat([Buffer.from('lateword '.repeat(2000)), Buffer.from([0xff, 0xfe]), Buffer.from(' afterlate')]));
    await env.s3.put('docs', 'odd/png.pdf', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(64, 7)]));
    await env.s3.put('docs', 'odd/latin1.html', Buffer.concat([Buffer.from('<html><head><meta charset="iso-8859-1"></head><body><p>caf'), Buffer.from([0xe9]), Buffer.from(' latinword</p></body></html>')]), { contentType: 'text/html' });
    await env.s3.put('docs', 'odd/ligature.txt', 'ﬁnance office x² H₂O йогурт');
    // 8-bit text: a Latin-1 CSV export (text/csv), a Windows-1252 note known by its extension alone, and bytes with NULs under .txt.
    await env.s3.put('docs', 'odd/latin1.csv', Buffer.from('ville,note\nMontréal,frenchword été\n', 'latin1'), { contentType: 'text/csv' });
    await env.s3.put('docs', 'odd/cp1252.txt', Buffer.concat([Buffer.from('caf', 'latin1'), Buffer.from([0xe9, 0x20, 0x93]), Buffer.from('quoted legacyword', 'latin1'), Buffer.from([0x94])]));
    await env.s3.put('docs', 'odd/nul.txt', Buffer.concat([Buffer.from('nulword '), Buffer.from([0, 0xe9, 0, 1, 2])]));
    await env.s3.put('docs', 'files/data.json', '{"customer": "Initech", "region": "emea"}');
    await env.s3.put('docs', 'files/copy-of-notes.md', '# Meeting notes\n\nThe *governing law* question is open. Ask Søren about the e-mail.\n');
    await env.s3.put('docs', 'hostile/garbage.pdf', Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(5000, 0xa7)]));
    await env.s3.put('docs', 'hostile/truncated.pdf', fixture('report.pdf').subarray(0, 4000));
    await env.s3.put('docs', 'hostile/bomb.docx', zipBomb());
    await env.s3.put('docs', 'hostile/deep.html', deepHtml, { contentType: 'text/html' });
    await env.s3.put('docs', 'hostile/image.png', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(3000, 1)]), { contentType: 'image/png' });
    cp = await startCloudport({ dataDir: tempDir() });
    connectorId = (await cp.ok('create_connector', env.connector('docs'))).connector.id;
    const job = await cp.ok('start_import', { connector_id: connectorId, index: 'docs' });
    const done = await waitForJob(cp, job.job_id);
    expect(done.counts.failed).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  const search = (args: Record<string, unknown>) => cp.ok('search_index', args);
  const keys = async (args: Record<string, unknown>) => ((await search(args)).results as { key: string }[]).map((r) => r.key).sort();

  it('finds words in PDF, DOCX (two producers), XLSX, slides, HTML and text, with diacritics folded', async () => {
    expect(await keys({ query: 'indemnification' })).toEqual(['files/report.pdf']);
    expect(await keys({ query: 'zurich' })).toEqual(['files/report.pdf']);
    expect(await keys({ query: 'NAÏVE cafe' })).toEqual(['files/report.pdf']);
    expect(await keys({ query: '"governing law of Delaware"' })).toEqual(['files/contract-lo.docx', 'files/contract.docx']);
    expect(await keys({ query: '"Net 30"' })).toEqual(['files/contract-lo.docx', 'files/contract.docx']);
    expect(await keys({ query: '"contingency reserve"' })).toEqual(['files/budget.xlsx']);
    expect(await keys({ query: 'pelican fjord' })).toEqual(['files/slides.pdf']);
    expect(await keys({ query: 'enterprise annually' })).toEqual(['files/page.html']);
    // notes.md and its copy hold the same content: one is the other's duplicate, and only the original is a result.
    const notes = await keys({ query: 'Søren' });
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/notes\.md$/);
    expect(await keys({ query: 'initech' })).toEqual(['files/data.json']);
    expect(await keys({ query: 'quokka dawn' })).toEqual(['files/feed.xml']);
    expect(await keys({ query: 'feed' })).toEqual([]); // XML markup is not text
    expect(await keys({ query: 'wallaby' })).toEqual(['files/ledger.csv']);
    expect(await keys({ query: 'deepword' })).toEqual(['hostile/deep.html']);
  });

  it('reads text items at any offset, finds words past bad bytes, and folds queries as the index does', async () => {
    const cut = await cp.ok('read_item', { index: 'docs', key: 'odd/emoji.txt', offset: 1, length: 5 });
    expect(cut.text).toBe('arty ');
    const inside = await cp.ok('read_item', { index: 'docs', key: 'odd/emoji.txt', offset: 6, length: 2 });
    expect(inside.text).toBe('🎉'); // a length shorter than the character still reads it, so paging moves on
    expect(inside.next_offset).toBe(10);
    expect(await keys({ query: 'afterlate' })).toEqual(['odd/latebad.txt']);
    // Not one UTF-8 sequence in it: its two stray bytes read as windows-1252, as 8-bit text.
    const bad = await cp.ok('read_item', { index: 'docs', key: 'odd/latebad.txt', offset: 18000 });
    expect(bad.text).toContain('ÿþ afterlate');
    expect((await cp.ok('read_item', { index: 'docs', key: 'odd/png.pdf' })).note).toContain('binary');
    expect(await keys({ query: 'ﬁnance x²' })).toEqual(['odd/ligature.txt']);
    expect(await keys({ query: 'йогурт' })).toEqual(['odd/ligature.txt']);
    // Markup is read in the charset it declares.
    expect(await keys({ query: 'café latinword' })).toEqual(['odd/latin1.html']);
    expect(await keys({ query: 'frenchword ete' })).toEqual(['odd/latin1.csv']);
    const latin = await cp.ok('read_item', { index: 'docs', key: 'odd/latin1.csv' });
    expect(latin).toMatchObject({ text_status: 'extracted', text: 'ville,note\nMontréal,frenchword été\n' });
    expect((await cp.ok('read_item', { index: 'docs', key: 'odd/cp1252.txt' })).text).toBe('café “quoted legacyword”');
    expect(await keys({ query: 'nulword' })).toEqual([]);
    expect((await cp.ok('read_item', { index: 'docs', key: 'odd/nul.txt' })).text_status).toBe('unsupported');
    expect((await cp.ok('read_item', { index: 'docs', key: 'odd/latin1.html' })).text).toContain('café latinword');
  });

  it('never indexes script, style or markup, nor text from an image-only PDF', async () => {
    expect(await keys({ query: 'scriptword' })).toEqual([]);
    expect(await keys({ query: 'color' })).toEqual([]);
    expect(await keys({ query: 'harbor' })).toEqual([]);
  });

  it('phrases, prefixes, OR and exclusion mean the same thing as they read', async () => {
    expect(await keys({ query: '"law governing"' })).toEqual([]);
    expect(await keys({ query: 'indemnif*' })).toEqual(['files/report.pdf']);
    expect(await keys({ query: 'pelican OR initech' })).toEqual(['files/data.json', 'files/slides.pdf']);
    expect(await keys({ query: '"governing law" -delaware' })).toEqual(await keys({ query: 'Søren' }));
    expect(await keys({ query: 'e-mail' })).toEqual(await keys({ query: 'Søren' }));
    const bad = await cp.call('search_index', { query: '-delaware' });
    expect(bad.data.error).toMatchObject({ kind: 'config_invalid', field: 'query' });
    expect(bad.data.error.fix).toContain('quoted phrases');
    // Punctuation that is FTS5 or tsquery syntax is only a separator.
    expect(await keys({ query: 'NEAR( "governing" : law ) ^ AND' })).toEqual([]);
  });

  it('every item has a text_status; hostile documents fail alone, the import does not', async () => {
    const status = async (key: string) => (await cp.ok('read_item', { index: 'docs', key })).text_status;
    expect(await status('files/report.pdf')).toBe('extracted');
    expect(await status('files/encrypted.pdf')).toBe('failed');
    expect((await cp.ok('read_item', { index: 'docs', key: 'files/encrypted.pdf' })).note).toContain('encrypted');
    expect(await status('files/scanned-like.pdf')).toBe('empty');
    expect(await status('hostile/garbage.pdf')).toBe('failed');
    expect(await status('hostile/truncated.pdf')).toMatch(/failed|extracted|empty/);
    const bomb = await cp.ok('read_item', { index: 'docs', key: 'hostile/bomb.docx' });
    expect(bomb.text_status).toBe('failed');
    expect(bomb.note).toContain('inflates to 200 MiB');
    expect(await status('hostile/image.png')).toBe('unsupported');
  });

  it('the snippet marks the words and its offset is where read_item reads them; text alone suffices', async () => {
    const t = await text(cp, 'search_index', { query: 'indemnification clause' });
    const line = JSON.parse(t.slice(t.indexOf('\n') + 1));
    expect(line.columns).toEqual(['index', 'key', 'score', 'offset', 'text_status', 'snippet']);
    const [index, key, score, offset, status, snippet] = line.results[0];
    expect([index, key, status]).toEqual(['docs', 'files/report.pdf', 'extracted']);
    expect(score).toBeGreaterThan(0);
    expect(snippet).toContain('«indemnification» «clause»');
    expect(snippet.length).toBeLessThanOrEqual(300);
    const read = await cp.ok('read_item', { index: 'docs', key, offset, length: 2000 });
    expect(read.text).toContain('indemnification clause');
    // Documents read as their extracted text; raw: true reads the stored bytes.
    const whole = await cp.ok('read_item', { index: 'docs', key: 'files/contract.docx' });
    expect(whole.text).toContain('Master Services Agreement');
    expect(whole.text_bytes).toBe(Buffer.byteLength(whole.text));
    expect((await cp.ok('read_item', { index: 'docs', key: 'files/contract.docx', raw: true })).note).toContain('binary');
  });

  it('pages with a cursor, filters by index and prefix, and says what to do when nothing matches', async () => {
    const first = await search({ query: '"governing law"', limit: 1 });
    expect(first.results).toHaveLength(1);
    expect(first.total_estimate).toBe(3);
    const second = await search({ query: '"governing law"', limit: 1, cursor: first.next_cursor });
    const third = await search({ query: '"governing law"', limit: 5, cursor: second.next_cursor });
    expect(third.next_cursor).toBeNull();
    expect(new Set([...first.results, ...second.results, ...third.results].map((r: { key: string }) => r.key)).size).toBe(3);
    expect((await cp.call('search_index', { query: 'law', cursor: first.next_cursor })).data.error).toMatchObject({ field: 'cursor' });
    expect(await keys({ query: '"governing law"', prefix: 'files/contract' })).toEqual(['files/contract-lo.docx', 'files/contract.docx']);
    expect(await keys({ query: 'delaware', index: ['docs'] })).toHaveLength(2);
    expect((await cp.call('search_index', { query: 'x', index: 'nope' })).data.error).toMatchObject({ kind: 'not_found', field: 'index' });
    const none = await search({ query: 'xylophone' });
    expect(none.results).toEqual([]);
    expect(none.hint).toContain('fewer words');
    // Nothing under the prefix, or the phrase's words only apart: the hint says so.
    expect((await search({ query: '"governing law"', prefix: 'Files/' })).hint).toMatch(/^3 item\(s\) match outside prefix "Files\/": .*case matters/);
    expect((await search({ query: '"law governing"' })).hint).toContain('drop the quotes');
    expect(await text(cp, 'search_index', { query: '"governing law"', limit: 1 })).toMatch(/^result 1 of 3 matching item\(s\)/);
  });

  it('a deleted item leaves the results at once; its content imported again is found again', async () => {
    expect(await keys({ query: 'pelican' })).toEqual(['files/slides.pdf']);
    await cp.ok('delete_item', { index: 'docs', key: 'files/slides.pdf' });
    expect(await keys({ query: 'pelican' })).toEqual([]);
    const job = await cp.ok('start_import', { connector_id: connectorId, index: 'other', keys: ['files/slides.pdf', 'files/report.pdf'] });
    await waitForJob(cp, job.job_id);
    expect(await keys({ query: 'pelican' })).toEqual(['files/slides.pdf']);
    expect((await search({ query: 'pelican' })).results[0].index).toBe('other');
    expect(await keys({ query: 'zurich', index: 'docs' })).toEqual(['files/report.pdf']);
    expect((await search({ query: 'zurich' })).total_estimate).toBe(2);
    await cp.ok('delete_index', { index: 'other' });
    expect(await keys({ query: 'pelican' })).toEqual([]);
  });
});

describe('extraction limits and reindex_index', () => {
  let env: S3Env;
  const THREE = ['report.pdf', 'contract.docx', 'long.txt'];
  beforeAll(async () => {
    env = await startS3Env(['lim']);
    await env.s3.put('lim', 'report.pdf', fixture('report.pdf'));
    await env.s3.put('lim', 'contract.docx', fixture('contract.docx'));
    await env.s3.put('lim', 'long.txt', `${'alpha beta gamma. '.repeat(300)}omega`);
    // Two million cells (30 MB of sheet, well within the inflated-size limit): far more work than 0.1 s.
    const deep = `<worksheet><sheetData>${`<row>${'<c><v>1</v></c>'.repeat(1000)}</row>`.repeat(2000)}</sheetData></worksheet>`;
    await env.s3.put('lim', 'deep.xlsx', Buffer.from(zipSync({ '[Content_Types].xml': strToU8('<Types/>'), 'xl/worksheets/sheet1.xml': strToU8(deep) }, { level: 9 })));
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('an item over a limit keeps the text up to it and says so; a document past its time fails alone', async () => {
    const cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_EXTRACT_MAX_TEXT_BYTES: '1024', CLOUDPORT_EXTRACT_MAX_PAGES: '1' } });
    try {
      const id = (await cp.ok('create_connector', env.connector('lim'))).connector.id;
      await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'lim', keys: THREE })).job_id);
      const long = await cp.ok('read_item', { index: 'lim', key: 'long.txt' });
      expect(long.text_status).toBe('truncated');
      expect((await cp.ok('search_index', { query: 'omega' })).results).toEqual([]);
      const pdf = await cp.ok('read_item', { index: 'lim', key: 'report.pdf' });
      expect(pdf).toMatchObject({ text_status: 'truncated', next_offset: null });
      expect(pdf.text).toContain('quarterly revenue grew');
      expect(pdf.text).not.toContain('indemnification');
      // The end of a text cut at a limit says the document goes on, and how to extract more.
      expect(pdf.note).toMatch(/^the extracted text ends here, at a limit \(the first 1 of \d+ pages \(page limit\)\)/);
      expect(await text(cp, 'read_item', { index: 'lim', key: 'report.pdf' })).toMatch(/end of text, next_offset null; the extracted text ends here.*the server's operator can raise CLOUDPORT_EXTRACT_MAX_PAGES and restart it, then reindex_index \{"index": "lim", "all": true\}/);
      expect((await cp.ok('read_item', { index: 'lim', key: 'report.pdf', length: 10 })).note).toBeUndefined();
    } finally {
      await cp.close();
    }

    // A sheet of two million cells takes far longer than 0.1 s: the worker is terminated at the limit and
    // the next file gets a new one (the limit counts from the item's start, not the worker's).
    const slow = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_EXTRACT_TIMEOUT_MS: '100', CLOUDPORT_EXTRACT_THREADS: '1' } });
    try {
      const id = (await slow.ok('create_connector', env.connector('lim'))).connector.id;
      await waitForJob(slow, (await slow.ok('start_import', { connector_id: id, index: 'lim', keys: ['deep.xlsx'] })).job_id);
      const sheet = await slow.ok('read_item', { index: 'lim', key: 'deep.xlsx' });
      expect(sheet.text_status).toBe('failed');
      expect(sheet.note).toContain('longer than 0.1 s');
      expect(sheet.note).toContain('CLOUDPORT_EXTRACT_TIMEOUT_MS');
      await waitForJob(slow, (await slow.ok('start_import', { connector_id: id, index: 'lim', keys: ['long.txt'] })).job_id);
      expect((await slow.ok('read_item', { index: 'lim', key: 'long.txt' })).text_status).toBe('extracted');
    } finally {
      await slow.close();
    }
  }, 120_000);

  it('with extraction off, items wait as pending; reindex_index extracts them as a job import_status follows', async () => {
    const dataDir = tempDir();
    const off = await startCloudport({ dataDir, env: { CLOUDPORT_EXTRACT: 'off' } });
    const id = (await off.ok('create_connector', env.connector('lim'))).connector.id;
    await waitForJob(off, (await off.ok('start_import', { connector_id: id, index: 'lim', keys: THREE })).job_id);
    const pending = await off.ok('read_item', { index: 'lim', key: 'contract.docx' });
    expect(pending.text_status).toBe('pending');
    // Its stored bytes are not passed off as its text: the text says what to do.
    expect(pending.text).toBeUndefined();
    expect(await text(off, 'read_item', { index: 'lim', key: 'contract.docx' })).toMatch(/docx document, text not extracted yet .*reindex_index \{"index": "lim"\}/);
    expect((await off.ok('read_item', { index: 'lim', key: 'contract.docx', raw: true })).text_status).toBe('pending');
    const none = await off.ok('search_index', { query: 'delaware' });
    expect(none.hint).toContain('reindex_index');
    await off.close();

    const cp = await startCloudport({ dataDir });
    try {
      const r = await cp.ok('reindex_index', { index: 'lim' });
      expect(r).toMatchObject({ status: 'queued', index: 'lim', queued: 3, listing_complete: true });
      const done = await waitForJob(cp, r.job_id);
      expect(done).toMatchObject({ kind: 'reindex', status: 'completed' });
      expect(done.counts.ready).toBe(3);
      expect((await cp.ok('search_index', { query: 'delaware' })).results.map((h: { key: string }) => h.key)).toEqual(['contract.docx']);
      // Nothing is left to extract; all: true extracts every item again.
      expect((await cp.ok('reindex_index', { index: 'lim' })).queued).toBe(0);
      expect(await text(cp, 'reindex_index', { index: 'lim' })).toMatch(/^nothing to extract in index lim: every item has its text .*all: true/);
      const again = await waitForJob(cp, (await cp.ok('reindex_index', { index: 'lim', all: true })).job_id);
      expect(again.counts.ready).toBe(3);
      expect((await cp.ok('search_index', { query: 'delaware' })).total_estimate).toBe(1);
      expect((await cp.call('reindex_index', { index: 'nope' })).data.error).toMatchObject({ kind: 'not_found', field: 'index' });
    } finally {
      await cp.close();
    }
  }, 120_000);

  it('one reindex per index: a call while one is queued answers that job, and all: true beside it is a conflict', async () => {
    const dataDir = tempDir();
    const off = await startCloudport({ dataDir, env: { CLOUDPORT_EXTRACT: 'off' } });
    const id = (await off.ok('create_connector', env.connector('lim'))).connector.id;
    await waitForJob(off, (await off.ok('start_import', { connector_id: id, index: 'lim', keys: THREE })).job_id);
    await off.close();

    // --workers 0 runs no job work here, so the first job stays queued for as long as the test looks.
    const idle = await startCloudport({ dataDir, args: ['--workers', '0'] });
    try {
      const [a, b] = await Promise.all([idle.ok('reindex_index', { index: 'lim' }), idle.ok('reindex_index', { index: 'lim' })]);
      expect(a).toMatchObject({ status: 'queued', queued: 3 });
      expect(b).toMatchObject({ job_id: a.job_id, status: 'queued', queued: 3, already_running: true });
      expect(await text(idle, 'reindex_index', { index: 'lim' })).toMatch(new RegExp(`^reindex job ${a.job_id} is already queued for index lim \\(3 item\\(s\\)\\): no second job started`));
      const all = await idle.call('reindex_index', { index: 'lim', all: true });
      expect(all.isError).toBe(true);
      expect(all.data.error).toMatchObject({ kind: 'conflict', field: 'all' });
      expect(all.text).toContain(`cancel_import {job_id: "${a.job_id}"}`);
      await idle.ok('cancel_import', { job_id: a.job_id });
      const fresh = await idle.ok('reindex_index', { index: 'lim', all: true });
      expect(fresh.job_id).not.toBe(a.job_id);
      expect(fresh.already_running).toBeUndefined();
    } finally {
      await idle.close();
    }
  }, 120_000);
});
