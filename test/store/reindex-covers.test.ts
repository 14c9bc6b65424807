/**
 * A running reindex answers a new call only when every item the call would queue is pending in it (its
 * keys, not a count): after a pending item is deleted and another imported without text, the call
 * starts a job that lists the new one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { ReindexService } from '../../src/core/search/reindex.js';
import { backends, cleanup } from '../helpers/search-store.js';

afterAll(cleanup);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const svc = (s: Store) => new ReindexService(s, {} as never, {} as never, 60_000);

async function add(s: Store, key: string, org = 'org_a', index = 'idx') {
  const id = `imp_${randomBytes(4).toString('hex')}`;
  await s.createJob(
    { id, org_id: org, kind: 'import', connector_id: 'conn_1', index_name: index, params: '{}', status: 'queued', listing_state: null, listing_complete: 1, lease_owner: null, lease_expires: 0, error: null, created_at: new Date().toISOString() },
    [{ key, size: key.length, etag: null, version: 'v' }],
  );
  const f = (await s.claimFiles('A', 100, 60_000, new Date().toISOString())).find((c) => c.job_id === id)!;
  await s.commitFile({ fileId: f.id, owner: 'A', orgId: org, connectorId: 'conn_1', index, key, sha256: sha(key), size: key.length, contentType: 'application/pdf', etag: null, version: 'v', dedupe: true, now: new Date().toISOString() });
}

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
