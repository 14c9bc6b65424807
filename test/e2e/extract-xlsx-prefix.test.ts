import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';
import { makeXlsx } from '../helpers/documents.js';

/**
 * SpreadsheetML is XML with namespaces: a worksheet may bind the main namespace to a prefix
 * (`<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData><x:row>…`),
 * as the Open XML SDK and some report generators write it; its cells are extracted as those of a sheet
 * without a prefix.
 */
describe('XLSX with a namespace prefix', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['sheets']);
    await env.s3.put('sheets', 'plain.xlsx', makeXlsx([['name', 'city'], ['Alice', 'Reykjavik']]));
    await env.s3.put('sheets', 'prefixed.xlsx', makeXlsx([['name', 'city'], ['Carol', 'Ulaanbaatar']], 'x'));
    cp = await startCloudport({ dataDir: tempDir() });
    const id = (await cp.ok('create_connector', env.connector('sheets'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'sheets' })).job_id);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('extracts the cells of a sheet whatever prefix its namespace has', async () => {
    const plain = await cp.ok('read_item', { index: 'sheets', key: 'plain.xlsx' });
    expect(plain).toMatchObject({ text_status: 'extracted', text: 'name\tcity\nAlice\tReykjavik\n\n' });
    const prefixed = await cp.ok('read_item', { index: 'sheets', key: 'prefixed.xlsx' });
    expect(prefixed.text_status).toBe('extracted');
    expect(prefixed.text).toBe('name\tcity\nCarol\tUlaanbaatar\n\n');
    expect((await cp.ok('search_index', { query: 'ulaanbaatar' })).results.map((r: { key: string }) => r.key)).toEqual(['prefixed.xlsx']);
  });
});
