import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * An XLSX cell's text is what the cell shows: the phonetic guide (furigana) that Japanese Excel stores
 * beside a shared string (`<si><t>東京</t><rPh><t>トウキョウ</t></rPh></si>`) is not glued onto it, so
 * search_index finds the cell by its own word (東京, plainshared) and read_item shows the cell as written;
 * an inline string's guide is left out the same way.
 */
const ct = `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>`;
const xlsx = Buffer.from(
  zipSync({
    '[Content_Types].xml': strToU8(ct),
    'xl/workbook.xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets><sheet name="S" sheetId="1"/></sheets></workbook>`),
    'xl/sharedStrings.xml': strToU8(
      `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2">` +
        `<si><t>東京</t><rPh sb="0" eb="2"><t>トウキョウ</t></rPh><phoneticPr fontId="1"/></si>` +
        `<si><t>plainshared</t><rPh sb="0" eb="5"><t>phoneticzz</t></rPh></si></sst>`,
    ),
    'xl/worksheets/sheet1.xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>大阪</t><rPh sb="0" eb="2"><t>オオサカ</t></rPh></is></c></row></sheetData></worksheet>`),
  }),
);

describe('XLSX phonetic guides are not part of the cell text', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['sheets']);
    await env.s3.put('sheets', 'cities.xlsx', xlsx);
    cp = await startCloudport({ dataDir: tempDir() });
    const cid = (await cp.ok('create_connector', env.connector('sheets'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: cid, index: 'sheets' })).job_id);
  }, 60_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('search_index finds a cell by its own text when the shared string carries a phonetic reading', async () => {
    const tokyo = await cp.ok('search_index', { query: '東京' });
    expect(tokyo.results.map((r: any) => r.key)).toEqual(['cities.xlsx']);
    const latin = await cp.ok('search_index', { query: 'plainshared' });
    expect(latin.results.map((r: any) => r.key)).toEqual(['cities.xlsx']);
  });

  it('read_item shows the cells as written, without the reading glued on', async () => {
    const r = await cp.call('read_item', { index: 'sheets', key: 'cities.xlsx' });
    expect(r.text).toContain('東京\tplainshared\t大阪');
    expect(r.text).not.toMatch(/トウキョウ|オオサカ|phoneticzz/);
  });
});
