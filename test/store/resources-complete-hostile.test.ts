/**
 * Index-name completion of values no index name can start with (a NUL, U+0001, punctuation): no
 * values, and nothing reaches the store (PostgreSQL refuses text holding U+0000).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CompleteRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { registerResources } from '../../src/resources.js';
import { backends, cleanup, withStore } from '../helpers/search-store.js';
import type { Store } from '../../src/store/types.js';

afterAll(cleanup);

function completer(store: Store) {
  const handlers = new Map<unknown, (req: unknown) => Promise<unknown>>();
  const server = { setRequestHandler: (schema: unknown, fn: (req: unknown) => Promise<unknown>) => handlers.set(schema, fn) };
  registerResources(server as never, { store } as never, 'org_a');
  const complete = handlers.get(CompleteRequestSchema)!;
  return (value: string) =>
    complete({ method: 'completion/complete', params: { ref: { type: 'ref/resource', uri: 'cloudport://indexes/{index}/items/{+key}' }, argument: { name: 'index', value } } }) as Promise<{
      completion: { values: string[] };
    }>;
}

describe.each(backends)('index completion of values no index name can start with: $name', (b) => {
  it.each(['\u0001', 'a\u0001', 'a\u0000b', '\u0000'])('value %j answers no values', async (value) => {
    await withStore(b, async (s) => {
      const c = completer(s);
      // control: an ordinary prefix answers
      expect((await c('z')).completion.values).toEqual([]);
      await expect(c(value).then((r) => r.completion.values)).resolves.toEqual([]);
    });
  });
});
