/**
 * reindex_index's one job per index (ReindexService.start, Store.createJobUnlessActive) on both
 * stores, with no job engine (nothing works the jobs, so they stay queued as long as the test
 * looks): two store connections at once, items the running job does not cover (by key, not by a count
 * of pending files: a pending item deleted and another imported without text), conflicts, orgs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { ReindexService } from '../../src/core/search/reindex.js';
import { backends, cleanup } from '../helpers/search-store.js';

afterAll(cleanup);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const svc = (s: Store) => new ReindexService(s, {} as never, {} as never, 60_000);

/** Imports one item with no text (as with CLOUDPORT_EXTRACT=off). */
async function add(s: Store, key: string, org = 'org_a', index = 'idx') {
  const id = `imp_${randomBytes(4).toString('hex')}`;
  await s.createJob(
    { id, org_id: org, kind: 'import', connector_id: 'conn_1', index_name: index, params: '{}', status: 'queued', listing_state: null, listing_complete: 1, lease_owner: null, lease_expires: 0, error: null, created_at: new Date().toISOString() },
    [{ key, size: key.length, etag: null, version: 'v' }],
  );
  const f = (await s.claimFiles('A', 100, 60_000, new Date().toISOString())).find((c) => c.job_id === id)!;
  await s.commitFile({ fileId: f.id, owner: 'A', orgId: org, connectorId: 'conn_1', index, key, sha256: sha(key), size: key.length, contentType: 'application/pdf', etag: null, version: 'v', dedupe: true, now: new Date().toISOString() });
}

async function reindexJobs(s: Store, org = 'org_a', index = 'idx') {
  return (await s.listJobs(org, { index, kind: 'reindex', limit: 100 })).filter((j) => j.status === 'queued' || j.status === 'running');
}

describe.each(backends)('reindex_index: one job per index: $name', (backend) => {
  it('two processes on one store (README: "Several processes on one store") start one job, not two', async () => {
    const open = backend.open();
    const a = await open();
    const b = await open();
    try {
      await add(a, 'one.pdf');
      const [ra, rb] = await Promise.all([svc(a).start('org_a', { index: 'idx' }), svc(b).start('org_a', { index: 'idx' })]);
      // Expected: one of the two answers the other's job.
      expect(await reindexJobs(a)).toHaveLength(1);
      expect(ra.job_id).toBe(rb.job_id);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('an item imported without text after the running job listed the index: the call starts a job that covers it', async () => {
    const s = await backend.open()();
    try {
      const r = svc(s);
      await add(s, 'a.pdf');
      const first = await r.start('org_a', { index: 'idx' });
      expect(first).toMatchObject({ listing_complete: true, queued: 1 });
      await add(s, 'b.pdf'); // e.g. a new_only import with CLOUDPORT_EXTRACT=off finishing now
      const again = await r.start('org_a', { index: 'idx' });
      const covered = new Set<string>();
      for (const f of await s.listJobFiles(again.job_id, { limit: 100 })) covered.add(f.key);
      expect(again.already_running).toBeUndefined();
      expect(covered.has('b.pdf')).toBe(true);
      // A third call is covered by the second job: it answers it.
      expect(await r.start('org_a', { index: 'idx' })).toMatchObject({ job_id: again.job_id, already_running: true });
    } finally {
      await s.close();
    }
  });

  it('a start on an index that does not exist is not_found and leaves nothing behind; all: true beside a job without it is a conflict; orgs are separate', async () => {
    const s = await backend.open()();
    try {
      const r = svc(s);
      const [x, y] = await Promise.allSettled([r.start('org_a', { index: 'idx' }), r.start('org_a', { index: 'idx' })]);
      expect([x.status, y.status]).toEqual(['rejected', 'rejected']);
      expect((x as PromiseRejectedResult).reason).toMatchObject({ kind: 'not_found' });
      await add(s, 'a.pdf');
      await add(s, 'a.pdf', 'org_b');
      const [p, q, o] = await Promise.all([r.start('org_a', { index: 'idx' }), r.start('org_a', { index: 'idx', all: true }).catch((e) => e), r.start('org_b', { index: 'idx' })]);
      // Whichever transaction comes first creates the job: a job without all makes all: true a conflict;
      // a job with all covers the call without it.
      if (p.already_running) expect(p.job_id).toBe(q.job_id);
      else expect(q).toMatchObject({ kind: 'conflict', field: 'all' });
      expect(o.already_running).toBeUndefined();
      expect(o.job_id).not.toBe(p.job_id);
      expect(await reindexJobs(s)).toHaveLength(1);
    } finally {
      await s.close();
    }
  });
});

describe.each(backends)('reindex_index coverage: $name', (backend) => {
  it('an item deleted from the running job, a new one imported: the call queues the new one', async () => {
    const s = await backend.open()();
    try {
      const r = svc(s);
      await add(s, 'a.pdf');
      await add(s, 'b.pdf');
      const first = await r.start('org_a', { index: 'idx' });
      expect(first).toMatchObject({ queued: 2, listing_complete: true });
      await s.deleteItem('org_a', 'idx', 'b.pdf');
      await add(s, 'c.pdf');
      const again = await r.start('org_a', { index: 'idx' });
      const keys = new Set<string>();
      for (const j of await s.listJobs('org_a', { index: 'idx', kind: 'reindex', limit: 100 })) for (const f of await s.listJobFiles(j.id, { limit: 100 })) keys.add(f.key);
      // Actual: again is the first job (already_running: true, 2 pending: a.pdf and the deleted b.pdf); no job lists c.pdf.
      expect({ already_running: again.already_running ?? false, c_covered: keys.has('c.pdf') }).toEqual({ already_running: false, c_covered: true });
    } finally {
      await s.close();
    }
  });
});
