import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { pgSchema } from '../helpers/pg.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A search cursor is bound to its query by a hash only, so one can be edited by hand: a next_cursor
 * whose offset was altered (negative, a list, a fraction, 1e300) is "cursor is not valid" on both
 * stores, never results, a cursor that loops, or an internal error.
 */
const pgs = pgSchema('qa_review_cursor');
const MASTER = { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') };

describe('search_index refuses a cursor whose offset is not one it made', () => {
  let env: S3Env;
  const cps: Record<string, Running> = {};
  beforeAll(async () => {
    env = await startS3Env(['docs']);
    for (let i = 0; i < 30; i++) await env.s3.put('docs', `d/${i}.txt`, `hello world ${i}`, { contentType: 'text/plain' });
    for (const [name, args] of [['sqlite', []], ['pg', ['--database-url', pgs.url()]]] as const) {
      const cp = await startCloudport({ dataDir: tempDir(), args: [...args], env: MASTER });
      const cid = (await cp.ok('create_connector', env.connector('docs'))).connector.id;
      await waitForJob(cp, (await cp.ok('start_import', { connector_id: cid, index: 'docs' })).job_id);
      cps[name] = cp;
    }
  }, 120_000);
  afterAll(async () => {
    for (const c of Object.values(cps)) await c.close();
    await env?.stop();
  });

  const withOffset = (cursor: string, o: unknown) => {
    const data = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Buffer.from(JSON.stringify({ ...data, o })).toString('base64url');
  };

  for (const store of ['sqlite', 'pg']) {
    it(`${store}: an altered offset (-5, [3], 1e300) is a cursor error, never results or an internal error`, async () => {
      const cp = cps[store]!;
      const first = await cp.ok('search_index', { query: 'hello', limit: 5 });
      expect(first.total_estimate).toBe(30);
      for (const o of [-5, [3], 1e300]) {
        const r = await cp.call('search_index', { query: 'hello', limit: 5, cursor: withOffset(first.next_cursor, o) });
        expect({ o, error: r.data.error }).toMatchObject({ o, error: { kind: 'config_invalid', field: 'cursor' } });
      }
    });
  }
});
