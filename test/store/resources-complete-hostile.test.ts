/**
 * Index-name completion of values no index name can start with (a NUL, U+0001, punctuation): no
 * values, and nothing reaches the store (PostgreSQL refuses text holding U+0000).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { registerResources } from '../../src/resources.js';
import { handlersOf } from '../helpers/handlers.js';
import { backends, cleanup, withStore } from '../helpers/search-store.js';
import type { Store } from '../../src/store/types.js';

afterAll(cleanup);

function completer(store: Store) {
  const complete = handlersOf((server) => registerResources(server, { store } as never, 'org_a')).get('completion/complete')!;
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
