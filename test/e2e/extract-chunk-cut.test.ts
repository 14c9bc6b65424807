import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Long texts are indexed in chunks cut at paragraphs or sentences, else a line, a space, or any
 * character that is no part of a word: a minified JSON (or a one-line CSV) has no whitespace at all,
 * and every word of it, also one where a chunk ends, is found.
 */
describe('chunk boundaries in text without whitespace', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['chunks']);
    // 2995 characters of JSON, then a word that spans characters 2996..3007, then more JSON: no whitespace anywhere.
    const json = `[${'"ab",'.repeat(599).slice(1)}"straddleword",${'"cd",'.repeat(400)}"endword"]`;
    await env.s3.put('chunks', 'data/min.json', json, { contentType: 'application/json' });
    cp = await startCloudport({ dataDir: tempDir() });
    const id = (await cp.ok('create_connector', env.connector('chunks'))).connector.id;
    const job = await cp.ok('start_import', { connector_id: id, index: 'chunks' });
    expect((await waitForJob(cp, job.job_id)).counts.ready).toBe(1);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('finds every word of a minified JSON, also one that stands where a chunk is cut', async () => {
    const read = await cp.ok('read_item', { index: 'chunks', key: 'data/min.json' });
    expect(read.text).toContain('"straddleword"');
    expect((await cp.ok('search_index', { query: 'endword' })).results.map((r: { key: string }) => r.key)).toEqual(['data/min.json']);
    // The word is in the item's text, whole: search must find it.
    expect((await cp.ok('search_index', { query: 'straddleword' })).results.map((r: { key: string }) => r.key)).toEqual(['data/min.json']);
  });
});
