import type { FaultRule, ProviderFixture } from './fixture.js';

/** Fixture operations name → the fault proxy's operation names. */
export const PROXY_OPS: Record<FaultRule['op'], string | undefined> = { list: 'ListObjects', get: 'GetObject', head: 'HeadObject', put: 'PutObject', delete: 'DeleteObject', any: undefined };

interface Proxy {
  counts: Record<string, number>;
  clearFaults(): void;
  resetCounts(): void;
}

/** The parts of a fixture that only talk to the fault proxy, shared by every provider's fixture. */
export function proxyParts(proxy: () => Proxy): Pick<ProviderFixture, 'clearFaults' | 'counts' | 'resetCounts'> {
  return {
    clearFaults: () => proxy().clearFaults(),
    counts: () => {
      const c = proxy().counts;
      return { list: c.ListObjects ?? 0, get: c.GetObject ?? 0, head: c.HeadObject ?? 0, put: c.PutObject ?? 0, delete: c.DeleteObject ?? 0, total: c.total ?? 0 };
    },
    resetCounts: () => proxy().resetCounts(),
  };
}
