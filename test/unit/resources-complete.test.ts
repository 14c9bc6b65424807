/**
 * Resource completion through registerResources' handler, with a store stub that honours `after` and
 * `limit` as the stores do: hasMore past 100 values, a total only when known, index names past the
 * first thousand.
 */
import { describe, expect, it } from 'vitest';
import { registerResources } from '../../src/resources.js';
import { handlersOf } from '../helpers/handlers.js';

function completer(indexNames: string[], keys: string[] = []) {
  const store = {
    async listIndexes(_org: string, opts: { after?: string; limit: number }) {
      return [...indexNames].sort().filter((n) => opts.after === undefined || n > opts.after).slice(0, opts.limit).map((name) => ({ name, items: 0, bytes: 0, updated_at: '' }));
    },
    async listItems(_org: string, _index: string, opts: { prefix?: string; limit: number }) {
      return [...keys].sort().filter((k) => !opts.prefix || k.startsWith(opts.prefix)).slice(0, opts.limit).map((key) => ({ key }));
    },
  };
  const complete = handlersOf((server) => registerResources(server, { store } as never, 'org_a')).get('completion/complete')!;
  return (name: string, value: string, context?: Record<string, string>) =>
    complete({ method: 'completion/complete', params: { ref: { type: 'ref/resource', uri: 'cloudport://indexes/{index}/items/{+key}' }, argument: { name, value }, ...(context ? { context: { arguments: context } } : {}) } }) as Promise<{
      completion: { values: string[]; total?: number; hasMore?: boolean };
    }>;
}

describe('resource completion totals', () => {
  it('control: 101 keys under a prefix say hasMore and no total', async () => {
    const c = completer(['docs'], Array.from({ length: 150 }, (_, i) => `k/${String(i).padStart(3, '0')}`));
    expect((await c('key', 'k/', { index: 'docs' })).completion).toMatchObject({ hasMore: true });
  });

  // The index argument reads the organization's first 1,000 indexes and filters them: an organization
  // with more (nothing limits how many indexes it makes) is offered none of the names after the
  // 1,000th, and the answer states a total (0 here) with hasMore false, as if it knew every value.
  it('index names past the first 1,000 are completed, or the answer does not claim a total', async () => {
    const names = [...Array.from({ length: 1000 }, (_, i) => `a${String(i).padStart(4, '0')}`), 'zeta', 'zulu'];
    const c = completer(names);
    const r = (await c('index', 'z')).completion;
    if (r.total !== undefined) expect(r).toMatchObject({ values: ['zeta', 'zulu'], total: 2, hasMore: false });
    else expect(r.hasMore).toBe(true);
  });
});
