import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, useCursorKey } from '../../src/core/domain/cursor.js';

/**
 * Cursors are sealed (opaque, tamper-evident) and bound to their organization and query; every process with the same
 * master key reads them, and a sealed cursor whose fields are wrong is still refused.
 */
describe('pagination cursors', () => {
  it('round-trip for the same query, and are refused for another', () => {
    const c = encodeCursor('org_a', { after: 7 }, { q: 'a' });
    expect(decodeCursor<{ after: number }>('org_a', c, { q: 'a' }, { after: 'count' })).toMatchObject({ after: 7 });
    expect(() => decodeCursor('org_a', c, { q: 'b' }, { after: 'count' })).toThrow(/different query/);
  });

  it('are bound to the organization: another one\'s call with the same query refuses the cursor as not valid, as a made-up one', () => {
    const c = encodeCursor('org_a', { o: 5 }, { q: 'hello', i: ['docs'], p: '' });
    expect(() => decodeCursor('org_b', c, { q: 'hello', i: ['docs'], p: '' }, { o: 'count' })).toThrow(/^cursor is not valid$/);
    expect(decodeCursor('org_a', c, { q: 'hello', i: ['docs'], p: '' }, { o: 'count' })).toMatchObject({ o: 5 });
  });

  it('hold no readable data (a store-wide row id in the clear would count other organizations\' rows)', () => {
    const c = encodeCursor('org_a', { after: 123456 }, null);
    expect(Buffer.from(c, 'base64url').toString('latin1')).not.toContain('123456');
  });

  it('are read under the same master key only', () => {
    useCursorKey(Buffer.alloc(32, 1));
    const c = encodeCursor('org_a', { after: 1 }, null);
    useCursorKey(Buffer.alloc(32, 1));
    expect(decodeCursor<{ after: number }>('org_a', c, null, { after: 'count' })).toMatchObject({ after: 1 });
    useCursorKey(Buffer.alloc(32, 2));
    expect(() => decodeCursor('org_a', c, null, { after: 'count' })).toThrow(/not valid/);
  });

  it('refuse a sealed cursor whose fields are not what the query keeps', () => {
    for (const after of [-5, 2.5, 1e300, '3', null]) {
      expect(() => decodeCursor('org_a', encodeCursor('org_a', { after }, null), null, { after: 'count' })).toThrow(/not valid/);
    }
  });
});
