import { describe, expect, it } from 'vitest';
import { backoffMs, DEFAULT_RETRY } from '../../src/core/domain/retry.js';

describe('backoff', () => {
  it('is full-jitter exponential, capped, and never shorter than Retry-After', () => {
    for (let i = 0; i < 200; i++) {
      const a = backoffMs(3, DEFAULT_RETRY);
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThanOrEqual(DEFAULT_RETRY.baseMs * 8);
      expect(backoffMs(30, DEFAULT_RETRY)).toBeLessThanOrEqual(DEFAULT_RETRY.maxMs);
      expect(backoffMs(0, DEFAULT_RETRY, 3)).toBeGreaterThanOrEqual(3000);
    }
  });
});
