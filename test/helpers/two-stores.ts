import { afterAll, beforeAll, expect } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from './cloudport.js';
import { pgSchema } from './pg.js';
import { startS3Env, type S3Env } from './s3env.js';

/**
 * The same text documents imported into index "docs" of a SQLite store and of a PostgreSQL store (a
 * schema of the file's own), each served over stdio, for tests that hold the two to one behaviour.
 * Started before the file's tests and stopped after them.
 */
export function bothStores(prefix: string, docs: Record<string, string>): { sqlite: Running; pg: Running } {
  const pgs = pgSchema(prefix);
  const master = { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') };
  const cps = {} as { sqlite: Running; pg: Running };
  let env: S3Env | undefined;
  beforeAll(async () => {
    env = await startS3Env(['docs']);
    for (const [k, v] of Object.entries(docs)) await env.s3.put('docs', k, v, { contentType: 'text/plain' });
    for (const [name, args] of [['sqlite', []], ['pg', ['--database-url', pgs.url()]]] as const) {
      const cp = await startCloudport({ dataDir: tempDir(), args: [...args], env: master });
      const cid = (await cp.ok('create_connector', env.connector('docs'))).connector.id;
      const done = await waitForJob(cp, (await cp.ok('start_import', { connector_id: cid, index: 'docs' })).job_id);
      expect(done.counts.failed).toBe(0);
      cps[name] = cp;
    }
  }, 120_000);
  afterAll(async () => {
    for (const c of Object.values(cps)) await c?.close();
    await env?.stop();
  });
  return cps;
}
