import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A document refused at a configured limit (time per item, size not opened, zip entries) says in
 * read_item's note which limit and how to get its text, as a text cut at the text or page limit does:
 * the variable the operator raises (CLOUDPORT_EXTRACT_TIMEOUT_MS, CLOUDPORT_EXTRACT_MAX_INPUT_BYTES,
 * CLOUDPORT_EXTRACT_MAX_ZIP_ENTRIES), then reindex_index {all: true}. A document that ran out of time
 * keeps its format in the note ("html document", with raw: true for its markup), never "document document".
 */
async function serve(files: Record<string, [Buffer | string, string?]>, extra: Record<string, string>): Promise<{ cp: Running; env: S3Env }> {
  const env = await startS3Env(['limits']);
  for (const [k, [body, ct]] of Object.entries(files)) await env.s3.put('limits', k, body, ct ? { contentType: ct } : undefined);
  const cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_EXTRACT_THREADS: '1', ...extra } });
  const id = (await cp.ok('create_connector', env.connector('limits'))).connector.id;
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'limits' })).job_id, 120_000);
  return { cp, env };
}

describe('a document out of time', () => {
  let s: { cp: Running; env: S3Env };
  beforeAll(async () => {
    // About 12 MiB of HTML: far more than 100 ms of work for the tokenizer.
    s = await serve({ 'slow.html': ['<!doctype html><html><body>' + '<p>slow page words here</p>'.repeat(450_000) + '</body></html>', 'text/html'] }, { CLOUDPORT_EXTRACT_TIMEOUT_MS: '100' });
  }, 180_000);
  afterAll(async () => {
    await s?.cp.close();
    await s?.env.stop();
  });

  it('names the format and CLOUDPORT_EXTRACT_TIMEOUT_MS', async () => {
    const r = await s.cp.call('read_item', { index: 'limits', key: 'slow.html' });
    expect(r.data.text_status).toBe('failed');
    expect(r.text).not.toContain('document document');
    expect(r.data.note).toMatch(/^html document/);
    expect(r.data.note).toContain('CLOUDPORT_EXTRACT_TIMEOUT_MS');
    expect(r.data.note).toContain('"all": true');
  });
});

describe('documents over a size limit', () => {
  let s: { cp: Running; env: S3Env };
  beforeAll(async () => {
    const entries: Record<string, Uint8Array> = {
      '[Content_Types].xml': strToU8('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'),
      'word/document.xml': strToU8('<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>entriesword</w:t></w:r></w:p></w:body></w:document>'),
    };
    for (let i = 0; i < 20; i++) entries[`word/media/p${i}.xml`] = strToU8('<x/>');
    s = await serve(
      {
        'big.xml': ['<?xml version="1.0"?><r xmlns="urn:x">' + '<p>bigword</p>'.repeat(10_000) + '</r>', 'application/xml'],
        'parts.docx': [Buffer.from(zipSync(entries))],
      },
      { CLOUDPORT_EXTRACT_MAX_INPUT_BYTES: '65536', CLOUDPORT_EXTRACT_MAX_ZIP_ENTRIES: '10' },
    );
  }, 180_000);
  afterAll(async () => {
    await s?.cp.close();
    await s?.env.stop();
  });
  const read = (key: string) => s.cp.call('read_item', { index: 'limits', key });

  it('over the input size: names CLOUDPORT_EXTRACT_MAX_INPUT_BYTES', async () => {
    const r = await read('big.xml');
    expect(r.data.note).toMatch(/^xml document, failed: .*extraction limit/);
    expect(r.data.note).toContain('CLOUDPORT_EXTRACT_MAX_INPUT_BYTES');
    expect(r.data.note).toContain('"all": true');
  });

  it('too many zip entries: names CLOUDPORT_EXTRACT_MAX_ZIP_ENTRIES', async () => {
    const r = await read('parts.docx');
    expect(r.data.note).toMatch(/^docx document, failed: the zip holds/);
    expect(r.data.note).toContain('CLOUDPORT_EXTRACT_MAX_ZIP_ENTRIES');
    expect(r.data.note).toContain('"all": true');
  });
});
