import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Text is kept per content hash and extracted once, so what a content is comes from its bytes where
 * they tell: a zip's entries say DOCX or XLSX, and a page that starts <!doctype html> or <html> is HTML.
 * Identical bytes first imported under a key that names no format (an attachment stored without
 * extension or type) get the same text as under "memo.docx" / "about.html": extracted, searchable,
 * and never the page's script or markup.
 */
function docx(paragraph: string): Buffer {
  return Buffer.from(
    zipSync({
      '[Content_Types].xml': strToU8('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'),
      '_rels/.rels': strToU8('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'),
      'word/document.xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>${paragraph}</w:t></w:r></w:p></w:body></w:document>`),
    }),
  );
}

describe('identical content under keys of different formats', () => {
  let env: S3Env;
  let cp: Running;
  let id: string;
  const importKeys = async (keys: string[]) => waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'mail', keys })).job_id);
  beforeAll(async () => {
    env = await startS3Env(['mail']);
    const memo = docx('Quarterly narwhal memo'); // one buffer: the same bytes under both keys
    await env.s3.put('mail', 'attachments/0001', memo);
    await env.s3.put('mail', 'reports/memo.docx', memo);
    const page = '<html><head><script>var secretjs = 1;</script></head><body><p>Public pangolin page</p></body></html>';
    await env.s3.put('mail', 'mirror/about', page);
    await env.s3.put('mail', 'site/about.html', page, { contentType: 'text/html' });
    cp = await startCloudport({ dataDir: tempDir() });
    id = (await cp.ok('create_connector', env.connector('mail'))).connector.id;
    // Two imports, in this order: the extensionless copies first.
    await importKeys(['attachments/0001', 'mirror/about']);
    await importKeys(['reports/memo.docx', 'site/about.html']);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('a .docx key reads as its extracted text and is found by its words', async () => {
    const read = await cp.ok('read_item', { index: 'mail', key: 'reports/memo.docx' });
    expect(read.text_status).toBe('extracted');
    expect(read.text).toContain('Quarterly narwhal memo');
    expect((await cp.ok('search_index', { query: 'narwhal' })).total_estimate).toBe(1);
  });

  it('an .html key never reads or matches its script and markup', async () => {
    const read = await cp.ok('read_item', { index: 'mail', key: 'site/about.html' });
    expect(read.text).toContain('Public pangolin page');
    expect(read.text).not.toContain('secretjs');
    expect(read.text).not.toContain('<p>');
    expect((await cp.ok('search_index', { query: 'secretjs', prefix: 'site/' })).results).toEqual([]);
  });
});
