import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

/**
 * App.open sizes the PostgreSQL pool from the most files worked at once, a connection per slot plus a
 * few: with --workers auto that is the ceiling (64), not where the limit starts. openStore is replaced
 * to read the options App.open passes; nothing connects to a database.
 */
const seen: { poolMax?: number }[] = [];
vi.mock('../../src/store/index.js', async (orig) => ({
  ...(await orig<typeof import('../../src/store/index.js')>()),
  openStore: async (opts: { poolMax?: number }) => {
    seen.push(opts);
    throw new Error('stop here');
  },
}));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-pool-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const log = { info() {}, warn() {}, error() {}, debug() {} } as never;

async function poolFor(concurrency: number, maxConcurrency: number): Promise<number | undefined> {
  const { App } = await import('../../src/core/app.js');
  seen.length = 0;
  await expect(
    App.open({ dataDir: dir, databaseUrl: 'postgres://pool@127.0.0.1:1/none', readOnly: false, concurrency, maxConcurrency, leaseMs: 30_000, pollMs: 250, idleTimeoutMs: 30_000, browseBudgetMs: 1000, retentionDays: 30, env: {}, log }),
  ).rejects.toThrow('stop here');
  return seen[0]?.poolMax;
}

describe('PostgreSQL pool size with adaptive concurrency', () => {
  it('--workers auto (16 up to 64) gets as many connections as a fixed --workers 64', async () => {
    const fixed64 = await poolFor(64, 64);
    expect(fixed64).toBe(68);
    const auto = await poolFor(16, 64);
    expect(auto).toBeGreaterThanOrEqual(fixed64!);
  });
});
