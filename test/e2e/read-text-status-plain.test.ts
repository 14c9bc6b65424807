import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * read_item's text tells an agent that reads only text what search covers of a plain-text item, as it
 * does for documents ("of extracted text (truncated)" and a note naming the limit): a text file cut at
 * CLOUDPORT_EXTRACT_MAX_TEXT_BYTES says `truncated` in its header (its words past the limit are not
 * found by search_index), and one imported with extraction off says `pending` (reindex_index).
 */
const longText = Array.from({ length: 400 }, (_, i) => `Paragraph ${i} talks about topic${i} and general filler words here.\n`).join('');

describe('read_item states text_status of plain-text items in its text', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['texts']);
    await env.s3.put('texts', 'long.txt', longText);
  }, 60_000);
  afterAll(async () => env?.stop());

  it('a text file cut at the text limit says truncated in read_item text', async () => {
    const cp: Running = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_EXTRACT_MAX_TEXT_BYTES: '8192' } });
    try {
      const cid = (await cp.ok('create_connector', env.connector('texts'))).connector.id;
      await waitForJob(cp, (await cp.ok('start_import', { connector_id: cid, index: 't' })).job_id);
      // Words past the limit are not searchable (as the README says)...
      expect((await cp.ok('search_index', { query: 'topic399' })).results).toEqual([]);
      const r = await cp.call('read_item', { index: 't', key: 'long.txt', offset: 20000, length: 1000 });
      expect(r.data.text_status).toBe('truncated');
      // ...and the text an agent reads says so (the structured field alone reaches no text-only client).
      const header = r.text.split('\n')[0]!;
      expect(header).toMatch(/text_status truncated/);
      expect(header).toMatch(/search covers the first 8192 bytes .*CLOUDPORT_EXTRACT_MAX_TEXT_BYTES/);
    } finally {
      await cp.close();
    }
  }, 60_000);

  it('a text file imported with extraction off says pending in read_item text', async () => {
    const cp: Running = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_EXTRACT: 'off' } });
    try {
      const cid = (await cp.ok('create_connector', env.connector('texts'))).connector.id;
      await waitForJob(cp, (await cp.ok('start_import', { connector_id: cid, index: 't' })).job_id);
      const r = await cp.call('read_item', { index: 't', key: 'long.txt', length: 200 });
      expect(r.data.text_status).toBe('pending');
      expect(r.text.split('\n')[0]).toMatch(/text_status pending.*not searchable yet.*reindex_index \{"index": "t"\}/);
    } finally {
      await cp.close();
    }
  }, 60_000);
});
