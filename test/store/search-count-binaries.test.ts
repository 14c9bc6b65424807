/**
 * Totals in a store with long texts and many texts without chunks (binaries: 'unsupported'): 40 long
 * texts matching beside 300 images answer 40, counted, on both stores; past searchTuning.exactCountChunks
 * (lowered to 0 for the estimate) the estimate does not count the binaries' texts either.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { SearchService } from '../../src/core/search/service.js';
import type { Store } from '../../src/store/types.js';
import { addMany, backends, cleanup, estimatingTotals, raw, search, sha, walk, withStore } from '../helpers/search-store.js';

afterAll(cleanup);

const filler = 'lorem ipsum dolor sit amet '.repeat(110);

async function addBinaries(s: Store, n: number) {
  const keys = Array.from({ length: n }, (_, i) => `img${i}.png`);
  await s.createJob({ id: `bin_${randomBytes(4).toString('hex')}`, org_id: 'org_a', kind: 'import', connector_id: 'conn_1', index_name: 'idx', params: '{}', status: 'queued', listing_state: null, listing_complete: 1, lease_owner: null, lease_expires: 0, error: null, created_at: '2026-01-01T00:00:00.000Z' }, keys.map((key) => ({ key, size: 10, etag: null, version: 'v' })));
  const claimed = await s.claimFiles('A', n, 60_000, new Date().toISOString());
  const out = await s.commitFiles(
    claimed.map((f) => ({
      fileId: f.id, owner: 'A', orgId: 'org_a', connectorId: 'conn_1', index: 'idx', key: f.key, sha256: sha(`binary ${f.key}`), size: 10,
      contentType: 'image/png', etag: null, version: 'v', dedupe: true, now: new Date().toISOString(),
      text: { status: 'unsupported', detail: 'binary content (image/png)', format: 'binary', derived: false, bytes: 0, chunks: [] },
    })) as never,
  );
  for (const o of out) if (o instanceof Error || o === null) throw o ?? new Error('lost lease');
}

/** 40 texts of 5 chunks, "harbour" in every chunk, three times in the first (200 matching chunks), and 300 images. */
async function fill(b: (typeof backends)[number], s: Store) {
  await addMany(s, Array.from({ length: 40 }, (_, i) => ({ key: `long${i}.txt`, content: Array.from({ length: 5 }, (_, k) => `${k === 0 ? 'harbour harbour harbour' : 'harbour'} note ${i} part ${k} ${filler}`).join('\n\n') })));
  await addBinaries(s, 300);
  if (b.name === 'postgres') await raw(b, 'ANALYZE');
}

describe.each(backends)('search totals in a store with many binary files: $name', (b) => {
  it('40 long texts matching, 300 images: total 40, counted', async () => {
    await withStore(b, async (s) => {
      await fill(b, s);
      // First search of the query (a walk first would leave a kept ranking with every match resolved).
      const r = await s.searchTexts('org_a', search('harbour', { limit: 10 }));
      const svc = await new SearchService(s).search('org_a', { query: 'harbour', limit: 10 });
      expect((await walk(s, 'org_a', 'harbour', 10)).keys).toHaveLength(40);
      expect({ total: r.total, exact: r.exact, total_estimate: svc.total_estimate }).toEqual({ total: 40, exact: true, total_estimate: 40 });
    });
  }, 120_000);

  describe('past the exact-count limit', () => {
    estimatingTotals();
    it('the estimate stays within 2x of 40', async () => {
      await withStore(b, async (s) => {
        await fill(b, s);
        const r = await s.searchTexts('org_a', search('harbour', { limit: 10 }));
        expect(r.exact).toBe(false);
        expect(r.total).toBeLessThanOrEqual(80);
      });
    }, 120_000);
  });
});
