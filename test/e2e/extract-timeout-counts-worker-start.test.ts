import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * CLOUDPORT_EXTRACT_TIMEOUT_MS is the time per item: extracting a 20-byte text or a one-line HTML page
 * takes a few milliseconds, so with the smallest time the setting accepts (100 ms) every such item
 * is extracted. Starting an extraction thread (and starting a new one after a thread is ended for
 * overrunning) is no item's time, so it never makes small items "failed" one after another. And a
 * plain text item is never reported as a failed "document document" that read_item will not show.
 */
describe('time per item with a tight CLOUDPORT_EXTRACT_TIMEOUT_MS', () => {
  let env: S3Env;
  let cp: Running;
  const keys: string[] = [];
  beforeAll(async () => {
    env = await startS3Env(['tiny']);
    for (let i = 0; i < 4; i++) {
      await env.s3.put('tiny', `note-${i}.txt`, `tiny note number ${i}`, { contentType: 'text/plain' });
      await env.s3.put('tiny', `page-${i}.html`, `<!doctype html><html><body><p>tiny page ${i}</p></body></html>`, { contentType: 'text/html' });
      keys.push(`note-${i}.txt`, `page-${i}.html`);
    }
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_EXTRACT_TIMEOUT_MS: '100', CLOUDPORT_EXTRACT_THREADS: '1' } });
    const id = (await cp.ok('create_connector', env.connector('tiny'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'tiny' })).job_id, 120_000);
  }, 180_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('extracts every small item and reads each text', async () => {
    const statuses: Record<string, string> = {};
    for (const key of keys.sort()) {
      const r = await cp.ok('read_item', { index: 'tiny', key });
      statuses[key] = `${r.text_status}${r.note ? `: ${r.note}` : ''}`;
    }
    expect(statuses).toEqual(Object.fromEntries(keys.map((k) => [k, 'extracted'])));
    expect((await cp.ok('search_index', { index: 'tiny', query: 'tiny', limit: 50 })).results).toHaveLength(8);
  });
});
