import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSchema } from '../helpers/pg.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';
import { cluster, fill, waitFinal } from '../helpers/scale-cluster.js';

/**
 * README: "a deleted item comes back with the next new_only import", and each file of a job ends in
 * one state, `skipped` meaning "this connector already imported this key into this index with the same
 * ETag and size". That holds when delete_index (one front door) and a new_only start_import of the same
 * index (another front door) run at once: when delete_index succeeds before start_import has answered
 * (so no job existed when it deleted: a queued job would have refused it), the new_only job does not
 * skip keys whose items were just deleted; once it is final, the index holds every key again.
 */
describe('delete_index racing a new_only start_import on another front door', () => {
  let env: S3Env;
  const { procs, url } = pgSchema('qa_scale_nodel');
  let cl: ReturnType<typeof cluster>;
  beforeAll(async () => {
    env = await startS3Env(['racebkt']);
    await fill(env, 'racebkt', 100);
    cl = cluster(url(), procs);
  }, 120_000);
  afterAll(async () => env?.stop());

  it('never ends with keys skipped as unchanged that the index no longer holds', async () => {
    const a = await cl.frontDoor();
    const b = await cl.frontDoor();
    const w = await cl.worker(['--workers', '8']);
    try {
      const conn = (await a.c.ok('create_connector', env.connector('racebkt'))).connector.id;
      const outcomes: string[] = [];
      for (let round = 0; round < 24; round++) {
        const index = `race${round}`;
        await waitFinal(a.c, (await a.c.ok('start_import', { connector_id: conn, index })).job_id);
        let startAnswered = false;
        let deletedFirst = false;
        const start = new Promise((r) => setTimeout(r, (round % 8) * 4)).then(() => a.c.call('start_import', { connector_id: conn, index, import_mode: 'new_only' })).then((r) => ((startAnswered = true), r));
        const del = b.c.call('delete_index', { index }).then((r) => ((deletedFirst = !r.isError && !startAnswered), r));
        const [st] = await Promise.all([start, del]);
        if (!deletedFirst) continue; // the deletion came after the job: refused, or after its end: both fine
        expect(st.isError, st.text).toBe(false);
        const fin = await waitFinal(a.c, st.data.job_id);
        const items = (await a.c.ok('list_indexes', {})).indexes.find((x: { name: string }) => x.name === index)?.items ?? 0;
        outcomes.push(`round ${round}: job ${fin.status} ${JSON.stringify(fin.counts)}, index holds ${items} of 100 keys`);
        if (items !== 100) break; // one is enough
      }
      expect(outcomes.length, 'no round had delete_index answer first').toBeGreaterThan(0);
      expect(outcomes.filter((o) => !o.endsWith('holds 100 of 100 keys'))).toEqual([]);
    } finally {
      w.proc.kill('SIGTERM');
      await w.exited;
      await a.srv.stop();
      await b.srv.stop();
    }
  }, 240_000);
});
