import { describe, expect, it } from 'vitest';
import type { Running } from '../helpers/cloudport.js';
import { bothStores } from '../helpers/two-stores.js';

/**
 * No key, name or value of either store holds a NUL character (PostgreSQL refuses it in text): a NUL in
 * a tool's argument is refused as config_invalid naming the field, alike on SQLite and PostgreSQL, an
 * item URI with %00 is "resource not found", and a completion with one completes nothing, never an
 * internal error carrying the driver's message.
 */

describe('NUL in prefixes, keys and URIs, on SQLite and PostgreSQL', () => {
  const cps: Record<string, Running> = bothStores('cp_nul', { 'a/one.txt': 'hello world' });

  const outcome = async (cp: Running, tool: string, args: Record<string, unknown>) => {
    const r = await cp.call(tool, args);
    return r.isError ? { error: r.data.error?.kind, field: r.data.error?.field } : { ok: true, results: (r.data.results ?? r.data.items ?? []).length };
  };
  const readUri = async (cp: Running, uri: string) => cp.client.readResource({ uri }).then(() => 'ok', (e: { code?: number }) => e.code);

  it('search_index with a prefix holding NUL is refused naming the field, alike on both stores', async () => {
    for (const cp of [cps.sqlite!, cps.pg!]) {
      expect(await outcome(cp, 'search_index', { query: 'hello', prefix: 'a/\u0000' })).toEqual({ error: 'config_invalid', field: 'prefix' });
    }
  });

  it('read_item / delete_item / list_index_items with a NUL in key or prefix are refused naming the field, alike on both stores', async () => {
    for (const cp of [cps.sqlite!, cps.pg!]) {
      expect(await outcome(cp, 'read_item', { index: 'docs', key: 'a/\u0000' })).toEqual({ error: 'config_invalid', field: 'key' });
      expect(await outcome(cp, 'delete_item', { index: 'docs', key: 'a/\u0000' })).toEqual({ error: 'config_invalid', field: 'key' });
      expect(await outcome(cp, 'list_index_items', { index: 'docs', prefix: '\u0000' })).toEqual({ error: 'config_invalid', field: 'prefix' });
    }
  });

  it('resources/read of an item URI with %00 is "resource not found" (-32002) on both stores', async () => {
    expect(await readUri(cps.sqlite!, 'cloudport://indexes/docs/items/a%00')).toBe(-32002);
    expect(await readUri(cps.pg!, 'cloudport://indexes/docs/items/a%00')).toBe(-32002);
  });

  it('completion of keys with a NUL in the typed value completes nothing (no internal error)', async () => {
    const ref = { type: 'ref/resource' as const, uri: 'cloudport://indexes/{index}/items/{+key}' };
    for (const cp of [cps.sqlite!, cps.pg!]) {
      const r = await cp.client.complete({ ref, argument: { name: 'key', value: 'a\u0000' }, context: { arguments: { index: 'docs' } } });
      expect(r.completion.values).toEqual([]);
    }
  });
});
