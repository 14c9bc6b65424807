import { describe, expect, it } from 'vitest';
import type { Running } from '../helpers/cloudport.js';
import { bothStores } from '../helpers/two-stores.js';

/**
 * Cursors are sealed: a next_cursor altered in any byte, or one made up (plain JSON with an offset of
 * -5, a list or 1e300), is "cursor is not valid" on both stores, never results, a cursor that loops,
 * or an internal error; and nothing of a cursor reads in the clear.
 */

describe('search_index refuses a cursor it did not make', () => {
  const cps: Record<string, Running> = bothStores('cp_cursor', Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`d/${i}.txt`, `hello world ${i}`])));

  const flip = (cursor: string, at: number) => {
    const raw = Buffer.from(cursor, 'base64url');
    raw[at % raw.length]! ^= 0x01;
    return raw.toString('base64url');
  };
  const madeUp = (o: unknown) => Buffer.from(JSON.stringify({ o, q: 'x' })).toString('base64url');

  for (const store of ['sqlite', 'pg']) {
    it(`${store}: an altered or made-up cursor is a cursor error, never results or an internal error`, async () => {
      const cp = cps[store]!;
      const first = await cp.ok('search_index', { query: 'hello', limit: 5 });
      expect(first.total_estimate).toBe(30);
      expect(Buffer.from(first.next_cursor, 'base64url').toString('latin1')).not.toMatch(/"o"|"q"/);
      const bad = [0, 13, 30, -1].map((at) => flip(first.next_cursor, at < 0 ? Buffer.from(first.next_cursor, 'base64url').length - 1 : at));
      for (const cursor of [...bad, madeUp(-5), madeUp([3]), madeUp(1e300), first.next_cursor.slice(0, 20)]) {
        const r = await cp.call('search_index', { query: 'hello', limit: 5, cursor });
        expect({ cursor, error: r.data.error }).toMatchObject({ cursor, error: { kind: 'config_invalid', field: 'cursor' } });
      }
      // The cursor itself still pages.
      expect((await cp.ok('search_index', { query: 'hello', limit: 5, cursor: first.next_cursor })).results).toHaveLength(5);
    });
  }
});
