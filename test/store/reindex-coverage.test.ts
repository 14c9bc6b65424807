/**
 * A running reindex answers a call only when every item of the index without text has a file pending
 * in it, for its key and its content: items past the first page imported after its listing ended are
 * listed by a new job; a pending key re-imported with new content (which the running job would skip)
 * is queued again; a reindex still listing answers only while every such item behind its cursor is
 * pending in it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { ReindexService } from '../../src/core/search/reindex.js';
import { backends, cleanup } from '../helpers/search-store.js';

afterAll(cleanup);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const svc = (s: Store) => new ReindexService(s, {} as never, {} as never, 60_000);

/** Imports items with no text; claims only its own job's files (the reindex jobs' stay unclaimed). */
async function addMany(s: Store, items: { key: string; content: string }[], org = 'org_a', index = 'idx') {
  for (let i = 0; i < items.length; i += 500) {
    const part = items.slice(i, i + 500);
    const conn = `conn_${randomBytes(3).toString('hex')}`;
    const id = `imp_${randomBytes(4).toString('hex')}`;
    await s.createJob(
      { id, org_id: org, kind: 'import', connector_id: conn, index_name: index, params: '{}', status: 'queued', listing_state: null, listing_complete: 1, lease_owner: null, lease_expires: 0, error: null, created_at: new Date().toISOString() },
      part.map((x) => ({ key: x.key, size: x.content.length, etag: null, version: 'v' })),
    );
    // Exclude the reindex jobs' connector ('') so their files stay as they are.
    const claimed = (await s.claimFiles('A', 1000, 60_000, new Date().toISOString(), { excludeConnectors: [''] })).filter((f) => f.job_id === id);
    const byKey = new Map(part.map((x) => [x.key, x.content]));
    const out = await s.commitFiles(
      claimed.map((f) => ({ fileId: f.id, owner: 'A', orgId: org, connectorId: conn, index, key: f.key, sha256: sha(byKey.get(f.key)!), size: byKey.get(f.key)!.length, contentType: 'application/pdf', etag: null, version: 'v', dedupe: true, now: new Date().toISOString() })),
    );
    for (const o of out) if (o instanceof Error || o === null) throw o ?? new Error('lost lease');
  }
}

async function activeFiles(s: Store) {
  const out: { key: string; version: string | null; status: string }[] = [];
  for (const j of await s.listJobs('org_a', { index: 'idx', kind: 'reindex', limit: 100 })) {
    if (j.status !== 'queued' && j.status !== 'running') continue;
    let after: number | undefined;
    for (;;) {
      const fs = await s.listJobFiles(j.id, { limit: 1000, ...(after !== undefined ? { afterId: after } : {}) });
      out.push(...fs.map((f) => ({ key: f.key, version: f.version, status: f.status })));
      if (fs.length < 1000) break;
      after = Number(fs[fs.length - 1]!.id);
    }
  }
  return out;
}

/** 1,000 items without text and a reindex started over them: its first page queued, its listing not done. */
async function firstPageQueued(s: Store) {
  const r = svc(s);
  await addMany(s, Array.from({ length: 1000 }, (_, i) => ({ key: `a${String(i).padStart(4, '0')}.pdf`, content: `a${i}` })));
  const first = await r.start('org_a', { index: 'idx' });
  expect(first).toMatchObject({ queued: 1000, listing_complete: false });
  return { r, first };
}

describe.each(backends)('reindex coverage: $name', (backend) => {
  it('more than a page without text: an item past the first page is queued by some job', async () => {
    const s = await backend.open()();
    try {
      const { r, first } = await firstPageQueued(s);
      // The job's listing runs (as the engine would) and finds nothing more: complete.
      const job = await s.claimListing('L', 60_000);
      expect(job?.id).toBe(first.job_id);
      await r.listNext(job!, 'L', new AbortController().signal);
      // Now an item without text arrives whose key sorts after the first page.
      await addMany(s, [{ key: 'b0000.pdf', content: 'b0' }]);
      const again = await r.start('org_a', { index: 'idx' });
      // A new job, whose listing goes on past its first page (as the engine runs it).
      expect(again.already_running).toBeUndefined();
      if (!again.listing_complete) {
        const listing = await s.claimListing('L', 60_000);
        expect(listing?.id).toBe(again.job_id);
        await r.listNext(listing!, 'L', new AbortController().signal);
      }
      const keys = new Set((await activeFiles(s)).map((f) => f.key));
      expect(keys.has('b0000.pdf')).toBe(true);
    } finally {
      await s.close();
    }
  }, 120_000);

  it('a pending key re-imported with new content: the new content is queued (key and sha256), not answered by the old file', async () => {
    const s = await backend.open()();
    try {
      const r = svc(s);
      await addMany(s, [{ key: 'a.pdf', content: 'old' }]);
      const first = await r.start('org_a', { index: 'idx' });
      expect(first).toMatchObject({ queued: 1, listing_complete: true });
      await addMany(s, [{ key: 'a.pdf', content: 'new' }]);
      expect((await s.getItem('org_a', 'idx', 'a.pdf'))?.sha256).toBe(sha('new'));
      const again = await r.start('org_a', { index: 'idx' });
      const files = await activeFiles(s);
      expect({ answered_by_first: again.job_id === first.job_id, new_queued: files.some((f) => f.key === 'a.pdf' && f.version === sha('new') && f.status === 'pending') }).toMatchObject({ new_queued: true });
    } finally {
      await s.close();
    }
  }, 120_000);

  it('a reindex still listing answers only while what lacks text behind its cursor is pending in it', async () => {
    const s = await backend.open()();
    try {
      const { r, first } = await firstPageQueued(s);
      expect(await r.start('org_a', { index: 'idx' })).toMatchObject({ job_id: first.job_id, already_running: true });
      // An item without text whose key sorts behind the listing's cursor (a0999.pdf): that listing will not see it.
      await addMany(s, [{ key: 'a0500b.pdf', content: 'behind' }]);
      const again = await r.start('org_a', { index: 'idx' });
      expect(again.already_running).toBeUndefined();
      expect((await activeFiles(s)).some((f) => f.key === 'a0500b.pdf' && f.version === sha('behind') && f.status === 'pending')).toBe(true);
    } finally {
      await s.close();
    }
  }, 120_000);
});
