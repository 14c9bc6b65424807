/**
 * SQLite's blob GC gate names the pid that set it. A gate left with our pid by an earlier process with
 * that pid (killed mid-GC, then restarted as pid 1 in a container) is not this process's: markHashed
 * clears it at once instead of waiting for it to expire.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { App, DEFAULT_ORG } from '../../src/core/app.js';
import { newJobRow } from '../../src/core/jobs/common.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const log = { info() {}, warn() {}, error() {}, debug() {} } as never;

it('a GC gate with our pid that this process did not set does not hold markHashed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-gate-pid-'));
  dirs.push(dir);
  const app = await App.open({ dataDir: dir, readOnly: false, concurrency: 0, leaseMs: 3000, pollMs: 50, idleTimeoutMs: 30_000, browseBudgetMs: 5000, retentionDays: 30, env: { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }, log, hashThreads: 0 } as never);
  try {
    const s = app.store;
    await s.createJob(newJobRow({ id: 'imp_gatepid', org: DEFAULT_ORG, kind: 'import', connectorId: 'con_x', index: 'i', params: {}, listingState: null, complete: true, now: new Date().toISOString() }), [{ key: 'k', size: 1, etag: null, version: 'v' }]);
    const [f] = await s.claimFiles('A', 1, 60_000, new Date().toISOString());
    await s.setMeta('blob_gc_gate', `${process.pid} 0123456789ab ${Date.now() + 10 * 60_000}`);
    const marked = await Promise.race([s.markHashed(f!.id, 'A', 'a'.repeat(64)), new Promise<string>((r) => setTimeout(() => r('still waiting'), 5000).unref())]);
    expect(marked).toBe(true);
    expect(await s.getMeta('blob_gc_gate')).toBeNull();
  } finally {
    await app.close();
  }
});
