import { describe, expect, it } from 'vitest';
import { JobEngine, type JobHandlers } from '../../src/core/jobs/engine.js';
import type { ClaimedFile, Store } from '../../src/store/types.js';

const log = { info() {}, warn() {}, error() {}, debug() {} } as never;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A store of `n` pending files over `connectors`, claimed in order; what the engine calls, nothing more. */
function fakeStore(n: number, connectors: string[], opts: { claimDelayMs?: () => number } = {}) {
  const pending: ClaimedFile[] = [];
  for (let i = 1; i <= n; i++) pending.push({ id: i, job_id: 'j', connector_id: connectors[i % connectors.length]!, kind: 'import', key: `k${i}`, params: '{}', attempts: 1 } as unknown as ClaimedFile);
  const s = {
    claims: 0,
    pending,
    async finalizeJobs() { return []; },
    async claimListing() { return null; },
    async claimFiles(_o: string, want: number, _l: number, _n: string, o: { excludeConnectors?: string[] }) {
      s.claims++;
      const d = opts.claimDelayMs?.() ?? 0;
      if (d) await sleep(d);
      const ex = new Set(o.excludeConnectors ?? []);
      const out: ClaimedFile[] = [];
      for (let i = 0; i < pending.length && out.length < want; ) {
        if (ex.has(pending[i]!.connector_id)) { i++; continue; }
        out.push(...pending.splice(i, 1));
      }
      return out;
    },
    async heartbeat() { return { lostFiles: [] }; },
    async releaseLeases() {},
    async setMeta() {},
    async deleteMeta() {},
  };
  return s;
}

describe('JobEngine slots with release', () => {
  it('starts no file after stop(), even when a claim was under way and released files free slots', async () => {
    const store = fakeStore(40, ['c1'], { claimDelayMs: () => 100 });
    let stopped = false;
    const startedAfterStop: number[] = [];
    const handlers: JobHandlers = {
      async listNext() {},
      async onFinalized() {},
      async processFile(file, _owner, signal, release) {
        if (stopped) startedAfterStop.push(file.id);
        await sleep(5);
        release(); // bytes on disk
        await sleep(20); // waits for its batch
      },
    };
    const engine = new JobEngine(store as unknown as Store, handlers, { concurrency: 2, leaseMs: 30_000, pollMs: 50, log });
    engine.start();
    await sleep(20); // the first tick is inside claimFiles
    stopped = true;
    await engine.stop();
    await sleep(400);
    expect(startedAfterStop).toEqual([]);
  });
});
