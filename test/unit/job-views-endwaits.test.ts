/**
 * A front door shutting down calls JobViews.endWaits() once: a long poll (import_status wait_seconds)
 * already in flight but not yet waiting (its first status query still running) answers at once too,
 * within the front door's drain, instead of waiting out its wait_seconds.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobViews } from '../../src/core/jobs/views.js';

afterEach(() => vi.useRealTimers());

describe('JobViews.endWaits', () => {
  it('ends a long poll whose first status query was still running when endWaits was called', async () => {
    vi.useFakeTimers();
    const views = new JobViews({} as never);
    let releaseFirst!: () => void;
    const running = { job_id: 'j', status: 'running', counts: {} } as never;
    let calls = 0;
    vi.spyOn(views, 'status').mockImplementation(() => {
      calls++;
      if (calls === 1) return new Promise((r) => (releaseFirst = () => r(running)));
      return Promise.resolve(running);
    });
    let answered = false;
    const p = views.waitForChange('org', 'j', 60, { limit: 10 }, new AbortController().signal).then(() => (answered = true));
    // Shutdown begins while the first status query is in flight.
    views.endWaits();
    releaseFirst();
    await vi.advanceTimersByTimeAsync(3000); // the front door's whole drain
    expect(answered).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    await p;
  });
});
