import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { pgSchema } from '../helpers/pg.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * README "Search": the query language is the same on SQLite and PostgreSQL. The same documents are
 * imported into a SQLite store and a PostgreSQL store, and the same queries find the same keys, also for
 * accents written as combining marks (NFD) and for the Turkish dotted capital İ. (PostgreSQL's own
 * limits, words over 2,047 bytes and positions past 256 per word in a passage, are in the README.)
 */
const pgs = pgSchema('qa_review_fold');
const MASTER = { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') };
const DOCS: Record<string, string> = {
  // Decomposed (NFD) accents, as macOS and many PDF producers write them.
  'nfd.txt': 'Office in Zu\u0308rich and Mu\u0308nchen.',
  'nfc.txt': 'Office in Zürich.',
  // Turkish dotted capital I.
  'tr-upper.txt': 'İSTANBUL branch report',
  'tr.txt': 'Visit İstanbul and İzmir',
  // Superscripts, subscripts, vulgar fractions, circled digits.
  'area.txt': 'price per m² and CO₂ emissions',
  'size.txt': 'size 5 m and a co op',
  'half.txt': 'add ½ cup of sugar, step ① first',
  // A word repeated more than 256 times in one passage before the phrase.
  'log.txt': 'status ok\n'.repeat(300) + 'status failed\n',
  // A token longer than 2047 bytes.
  'long.txt': 'token ' + 'q'.repeat(2100) + ' end',
  // A run of 703 Japanese characters (2,109 bytes) between punctuation: one word by the README's rule.
  'cjk-long.txt': '前書き。日本語' + 'の'.repeat(700) + '。終わり',
};

async function setup(args: string[], env: S3Env): Promise<Running> {
  const cp = await startCloudport({ dataDir: tempDir(), args, env: MASTER });
  const cid = (await cp.ok('create_connector', env.connector('docs'))).connector.id;
  const job = await cp.ok('start_import', { connector_id: cid, index: 'docs' });
  const done = await waitForJob(cp, job.job_id);
  expect(done.counts.failed).toBe(0);
  return cp;
}

describe('search finds the same keys on SQLite and PostgreSQL', () => {
  let env: S3Env;
  let lite: Running;
  let pgr: Running;
  beforeAll(async () => {
    env = await startS3Env(['docs']);
    for (const [k, v] of Object.entries(DOCS)) await env.s3.put('docs', k, v, { contentType: 'text/plain' });
    lite = await setup([], env);
    pgr = await setup(['--database-url', pgs.url()], env);
  }, 120_000);
  afterAll(async () => {
    await lite?.close();
    await pgr?.close();
    await env?.stop();
  });

  const keys = async (cp: Running, query: string) => ((await cp.ok('search_index', { query, limit: 50 })).results as { key: string }[]).map((r) => r.key).sort();
  const both = async (query: string) => ({ sqlite: await keys(lite, query), pg: await keys(pgr, query) });

  it('decomposed accents (NFD) inside a word: zurich / Zürich / munchen find the NFD document on PostgreSQL too', async () => {
    expect(await both('zurich')).toEqual({ sqlite: ['nfc.txt', 'nfd.txt'], pg: ['nfc.txt', 'nfd.txt'] });
    expect(await both('München')).toEqual({ sqlite: ['nfd.txt'], pg: ['nfd.txt'] });
  });

  it('Turkish dotted capital İ: istanbul and İstanbul find the same documents on both stores', async () => {
    const lower = await both('istanbul');
    expect(lower.pg).toEqual(lower.sqlite);
    const dotted = await both('İstanbul');
    expect(dotted.pg).toEqual(dotted.sqlite);
    // And a query typed as the document writes it finds it.
    expect(dotted.sqlite).toContain('tr.txt');
  });
});
