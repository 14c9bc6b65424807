/**
 * Where other organizations have items, the total is counted exactly (countMatches): a page that holds
 * every match offers no cursor, and total_estimate is the count, not one more.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { toPayload } from '../../src/core/search/extractor.js';
import { SearchService } from '../../src/core/search/service.js';

const NOW = '2026-01-01T00:00:00.000Z';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-review2-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
async function add(s: Store, org: string, key: string, content: string) {
  const id = `imp_${++n}`;
  await s.createJob(
    { id, org_id: org, kind: 'import', connector_id: 'conn_1', index_name: 'idx', params: '{}', status: 'queued', listing_state: null, listing_complete: 1, lease_owner: null, lease_expires: 0, error: null, created_at: NOW },
    [{ key, size: content.length, etag: null, version: 'v' }],
  );
  const [f] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
  await s.commitFile({
    fileId: f!.id, owner: 'A', orgId: org, connectorId: 'conn_1', index: 'idx', key, sha256: sha(content), size: content.length,
    contentType: 'text/plain', etag: null, version: 'v', dedupe: true, now: new Date().toISOString(),
    text: toPayload({ status: 'extracted', detail: null, text: content, format: 'text', derived: false }),
  });
}

it('an exact count (other organizations present) is not raised past the matches: no cursor to an empty page', async () => {
  const s = new SqliteStore(path.join(dir, 'cloudport.db'));
  try {
    await add(s, 'org_a', 'a1', 'alpha alpha alpha alpha');
    await add(s, 'org_a', 'a2', 'alpha alpha alpha beta');
    for (let i = 0; i < 80; i++) await add(s, 'org_b', `b${i}`, `alpha and some other words number ${i}`);
    const svc = new SearchService(s);
    const first = await svc.search('org_a', { query: 'alpha', limit: 2 });
    expect(first.results.map((r) => r.key).sort()).toEqual(['a1', 'a2']);
    const pages = [first.results.length];
    let cursor = first.next_cursor;
    while (cursor && pages.length < 10) {
      const p = await svc.search('org_a', { query: 'alpha', limit: 2, cursor });
      pages.push(p.results.length);
      cursor = p.next_cursor;
    }
    // org_a has exactly two matching items and the store counted them exactly.
    expect({ total_estimate: first.total_estimate, pages }).toEqual({ total_estimate: 2, pages: [2] });
  } finally {
    await s.close();
  }
});
