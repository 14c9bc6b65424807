import { describe, expect, it } from 'vitest';
import type { Running } from '../helpers/cloudport.js';
import { bothStores } from '../helpers/two-stores.js';

/**
 * A search cursor is bound to its query by a hash only, so one can be edited by hand: a next_cursor
 * whose offset was altered (negative, a list, a fraction, 1e300) is "cursor is not valid" on both
 * stores, never results, a cursor that loops, or an internal error.
 */

describe('search_index refuses a cursor whose offset is not one it made', () => {
  const cps: Record<string, Running> = bothStores('cp_cursor', Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`d/${i}.txt`, `hello world ${i}`])));

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
