import { asCloudportError, type CloudportError } from '../../shared/errors.js';

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
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

/** Runs `fn`, retrying temporary errors with backoff. The retry layer written once for every provider call. */
export async function withRetry<T>(fn: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY, signal?: AbortSignal, onRetry?: (e: CloudportError, attempt: number) => void): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const err = asCloudportError(e);
      if (signal?.aborted || !err.temporary || attempt + 1 >= policy.attempts) throw err;
      onRetry?.(err, attempt + 1);
      await sleep(backoffMs(attempt, policy, err.retryAfter), signal);
    }
  }
}
