import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { makeDocx } from '../helpers/documents.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * README: "Identical content is extracted once (text is kept per content hash)". An import of 30 keys
 * holding the same DOCX extracts it once (1 ready, 29 deduped); reindex_index {all: true} on that index
 * extracts the content once too, not once per key: its counts show one extraction, the other keys
 * deduped or skipped, and its log does not say "30 extracted".
 */
describe('reindex_index all: true over keys with identical content', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['same']);
    const doc = makeDocx(Array.from({ length: 500 }, (_, i) => `Paragraph ${i} of the same contract, clause text.`));
    for (let i = 0; i < 30; i++) await env.s3.put('same', `copy-${String(i).padStart(2, '0')}.docx`, doc);
    cp = await startCloudport({ dataDir: tempDir() });
    const id = (await cp.ok('create_connector', env.connector('same'))).connector.id;
    const imported = await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'same' })).job_id);
    expect({ ready: imported.counts.ready, deduped: imported.counts.deduped }).toEqual({ ready: 1, deduped: 29 });
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('extracts the shared content once', async () => {
    const job = await cp.ok('reindex_index', { index: 'same', all: true });
    const done = await waitForJob(cp, job.job_id, 120_000);
    expect(done.status).toBe('completed');
    expect(done.counts.ready).toBe(1);
    expect(done.counts.ready + done.counts.deduped + done.counts.skipped).toBe(30);
    expect((await cp.ok('read_item', { index: 'same', key: 'copy-29.docx', length: 10 })).text_status).toBe('extracted');
  });
});
