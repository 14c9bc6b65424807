import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { pgSchema } from '../helpers/pg.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * FTS5's unicode61 (remove_diacritics 2) drops only the combining marks Latin letters decompose to
 * (U+0300-0304, 0306-030C, …); the others (U+0305, 030D, 0310, 0312-031A, 0332-036F: the long stroke
 * overlay of "s̶a̶l̶e̶" strikethrough text, Greek psili U+0313, perispomeni U+0342 and ypogegrammeni U+0345
 * of NFD polytonic Greek) are word breaks to it. Queries fold as the index does: a query copied from the
 * document finds it, and both stores answer the same keys.
 */
const pgs = pgSchema('rv_fold_marks');
const MASTER = { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') };
const strike = (w: string) => [...w].map((c) => c + '\u0336').join('');
const DOCS: Record<string, string> = {
  'strike.txt': `Was ${strike('sale')} now clearance`,
  'greek.txt': 'Ἀλήθεια καὶ ᾠδή'.normalize('NFD'),
};

async function setup(args: string[], env: S3Env): Promise<Running> {
  const cp = await startCloudport({ dataDir: tempDir(), args, env: MASTER });
  const cid = (await cp.ok('create_connector', env.connector('docs'))).connector.id;
  const done = await waitForJob(cp, (await cp.ok('start_import', { connector_id: cid, index: 'docs' })).job_id);
  expect(done.counts.failed).toBe(0);
  return cp;
}

describe('combining marks FTS5 does not drop (U+0300-U+036F outside its diacritics)', () => {
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

  const keys = async (cp: Running, query: string) => ((await cp.ok('search_index', { query })).results as { key: string }[]).map((r) => r.key);

  it('SQLite finds strikethrough text with the query copied from the document', async () => {
    expect(await keys(lite, strike('sale'))).toEqual(['strike.txt']);
  });

  it('SQLite finds NFD polytonic Greek with the query copied from the document', async () => {
    expect(await keys(lite, DOCS['greek.txt']!.split(' ')[0]!)).toEqual(['greek.txt']);
  });

  it('both stores answer the same keys for these queries', async () => {
    for (const q of ['sale', strike('sale'), 'αληθεια', DOCS['greek.txt']!.split(' ')[0]!]) {
      expect({ q, sqlite: await keys(lite, q) }).toEqual({ q, sqlite: await keys(pgr, q) });
    }
  });
});
