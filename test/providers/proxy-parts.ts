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

/** An error answer of a Google JSON API (GCS, Drive) as Google sends it. */
export const googleErrorBody = (code: number, reason: string, message: string) => JSON.stringify({ error: { code, message, errors: [{ message, domain: 'global', reason }] } });

/** The fault proxy's status answer with a Google JSON error body. */
export const googleStatus = (code: number, reason: string, message: string, headers: Record<string, string> = {}) => ({
  type: 'status',
  status: code,
  body: googleErrorBody(code, reason, message),
  headers: { 'content-type': 'application/json; charset=UTF-8', ...headers },
});

/** The fault proxy's answer for each fixture fault, the way a Google JSON API answers it (each API its own texts). */
export function googleFault(a: FaultRule['action'], texts: { throttle: string; deny: [reason: string, message: string]; badCredentials: string }): Record<string, unknown> {
  switch (a.type) {
    case 'throttle':
      return googleStatus(429, 'rateLimitExceeded', texts.throttle, a.retryAfterSeconds !== undefined ? { 'retry-after': String(a.retryAfterSeconds) } : {});
    case 'server_error':
      return googleStatus(500, 'backendError', 'Backend Error');
    case 'deny':
      return googleStatus(403, ...texts.deny);
    case 'bad_credentials':
      return googleStatus(401, 'authError', texts.badCredentials, { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' });
    default:
      return a;
  }
}
