import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * "Case does not matter, nor do diacritics on Latin letters": a word typed exactly as the document
 * spells it finds the document. "İstanbul" (U+0130) lower-cases to "i" + U+0307, and the combining dot
 * is dropped inside the word, as FTS5 (unicode61, remove_diacritics 2) drops it: the query is the word
 * "istanbul", not the phrase "i stanbul".
 */
describe('query folding of Latin letters', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['fold']);
    await env.s3.put('fold', 'trip.txt', 'The offsite is in İstanbul next spring.', { contentType: 'text/plain; charset=utf-8' });
    cp = await startCloudport({ dataDir: tempDir() });
    const id = (await cp.ok('create_connector', env.connector('fold'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'fold' })).job_id);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  const keys = async (query: string) => ((await cp.ok('search_index', { query })).results as { key: string }[]).map((r) => r.key);

  it('finds İstanbul when the query spells it as the document does', async () => {
    expect(await keys('istanbul')).toEqual(['trip.txt']); // the index holds it
    expect(await keys('İstanbul')).toEqual(['trip.txt']);
    expect(await keys('İST*')).toEqual(['trip.txt']);
  });
});
