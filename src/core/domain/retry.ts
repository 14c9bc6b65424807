import { asCloudportError, type CloudportError } from '../../shared/errors.js';

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
  /** Throttled answers (rate_limited) may repeat this many times the attempts (default 1: counted like other errors). Background work gives them THROTTLE_FACTOR; a call an agent waits on does not. */
  throttleFactor?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 200, maxMs: 20_000 };

/** Full-jitter exponential backoff, never shorter than the server's Retry-After. */
export function backoffMs(attempt: number, policy: RetryPolicy, retryAfterSec?: number): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  const jitter = Math.random() * cap;
  return Math.max(jitter, (retryAfterSec ?? 0) * 1000);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Throttled answers may repeat this many times more than other temporary errors before a call gives up (downloads too). */
export const THROTTLE_FACTOR = 3;

/**
 * Runs `fn`, retrying temporary errors with backoff. The retry layer written once for every provider
 * call. Throttling (rate_limited) is the service asking to slow down, not a fault: it has a budget of
 * its own, `policy.throttleFactor` times the attempts.
 */
export async function withRetry<T>(fn: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY, signal?: AbortSignal, onRetry?: (e: CloudportError, attempt: number) => void): Promise<T> {
  let failures = 0;
  let throttles = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const err = asCloudportError(e);
      if (signal?.aborted || !err.temporary) throw err;
      const factor = policy.throttleFactor ?? 1;
      // Without a factor every temporary error counts against one budget, as it always did.
      const throttled = factor > 1 && err.kind === 'rate_limited';
      if (throttled ? ++throttles >= policy.attempts * factor : ++failures >= policy.attempts) throw err;
      onRetry?.(err, attempt + 1);
      await sleep(backoffMs(Math.min(factor > 1 ? (throttled ? throttles : failures) - 1 : attempt, 16), policy, err.retryAfter), signal);
    }
  }
}
