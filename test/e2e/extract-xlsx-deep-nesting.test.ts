import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * An XLSX whose sheet nests 100,000 unknown elements (2 KB zipped, 700 KB of XML) is read in about the
 * time of its size, as HTML and XML with the same nesting are (the worker reads markup with
 * htmlparser2's tokenizer, since its Parser costs O(depth) per element): its cell text is extracted
 * and searchable, rather than the file holding an extraction thread for the whole per-item time limit
 * and ending "failed".
 */
describe('XLSX with deeply nested elements', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['deep']);
    const sheet = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>deepxlsxword</t></is></c></row>' + '<g>'.repeat(100_000) + '</g>'.repeat(100_000) + '</sheetData></worksheet>';
    const xlsx = zipSync({
      '[Content_Types].xml': strToU8('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'),
      'xl/workbook.xml': strToU8('<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets><sheet name="S" sheetId="1"/></sheets></workbook>'),
      'xl/worksheets/sheet1.xml': strToU8(sheet),
    });
    await env.s3.put('deep', 'nested.xlsx', Buffer.from(xlsx));
    await env.s3.put('deep', 'same-nesting.xml', '<?xml version="1.0"?><worksheet xmlns="urn:x"><t>deepxmlword</t>' + '<g>'.repeat(100_000) + '</g>'.repeat(100_000) + '</worksheet>');
    // The default time per item (10 s).
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_EXTRACT_THREADS: '1' } });
    const id = (await cp.ok('create_connector', env.connector('deep'))).connector.id;
    const job = await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'deep' })).job_id, 120_000);
    expect(job.counts.failed).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('extracts the XML with that nesting (the comparison)', async () => {
    expect((await cp.ok('read_item', { index: 'deep', key: 'same-nesting.xml' })).text_status).toBe('extracted');
  });

  it('extracts the XLSX cell text too', async () => {
    const read = await cp.ok('read_item', { index: 'deep', key: 'nested.xlsx' });
    expect({ status: read.text_status, note: read.note }).toEqual({ status: 'extracted', note: undefined });
    expect(read.text).toContain('deepxlsxword');
  });
});
