import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, tempFiles, waitForJob, type Running } from '../helpers/cloudport.js';
import { bytes, sha256, startS3Env, type S3Env } from '../helpers/s3env.js';

const FILES = 40;
const SIZE = 256 * 1024;

async function waitUntil(cp: Running, jobId: string, pred: (s: Record<string, any>) => boolean) {
  for (let i = 0; i < 600; i++) {
    const s = await cp.ok('import_status', { job_id: jobId });
    if (pred(s)) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached');
}

describe('durable imports: restart, crash, two servers on one data dir', () => {
  let env: S3Env;
  const content = new Map<string, Buffer>();

  beforeAll(async () => {
    env = await startS3Env(['durable']);
    for (let i = 0; i < FILES; i++) {
      const k = `f/${String(i).padStart(3, '0')}.bin`;
      content.set(k, bytes(SIZE, 1000 + i));
      await env.s3.put('durable', k, content.get(k)!);
    }
  });
  afterAll(async () => env?.stop());

  async function checkIndex(cp: Running, index: string) {
    const items = (await cp.ok('list_index_items', { index, limit: 1000 })).items;
    expect(items).toHaveLength(FILES);
    for (const it of items) expect(it.sha256).toBe(sha256(content.get(it.key)!));
  }

  it('a server stopped mid-import goes on after restart; every file ends in exactly one state; no temp file left', async () => {
    const dataDir = tempDir();
    // Slow each GET a little so that the stop lands mid-import.
    env.proxy.addFault({ match: { op: 'GetObject' }, times: 1000, action: { type: 'stall', afterBytes: SIZE / 2, ms: 150 } });
    let cp = await startCloudport({ dataDir, args: ['--concurrency', '2'], env: { CLOUDPORT_IDLE_TIMEOUT_MS: '100' } });
    const connector = (await cp.ok('create_connector', env.connector('durable'))).connector.id;
    const job = await cp.ok('start_import', { connector_id: connector, index: 'restart' });
    const mid = await waitUntil(cp, job.job_id, (s) => s.counts.ready >= 3);
    expect(mid.counts.pending).toBeGreaterThan(0);
    await cp.close();
    env.proxy.clearFaults();
    cp = await startCloudport({ dataDir });
    const s = await waitForJob(cp, job.job_id);
    expect(s.status).toBe('completed');
    expect(s.counts).toEqual({ pending: 0, ready: FILES, deduped: 0, skipped: 0, failed: 0, canceled: 0 });
    await checkIndex(cp, 'restart');
    expect(tempFiles(dataDir)).toEqual([]);
    await cp.close();
  });

  it('a server killed with SIGKILL loses nothing: its leases expire and a new server finishes the job', async () => {
    const dataDir = tempDir();
    env.proxy.addFault({ match: { op: 'GetObject' }, times: 1000, action: { type: 'stall', afterBytes: SIZE / 2, ms: 150 } });
    const leaseEnv = { CLOUDPORT_LEASE_MS: '1500', CLOUDPORT_IDLE_TIMEOUT_MS: '100' };
    let cp = await startCloudport({ dataDir, args: ['--concurrency', '2'], env: leaseEnv });
    const connector = (await cp.ok('create_connector', env.connector('durable'))).connector.id;
    const job = await cp.ok('start_import', { connector_id: connector, index: 'crash' });
    await waitUntil(cp, job.job_id, (s) => s.counts.ready >= 3);
    process.kill(cp.pid!, 'SIGKILL');
    await cp.close().catch(() => {});
    env.proxy.clearFaults();
    cp = await startCloudport({ dataDir, env: leaseEnv });
    const s = await waitForJob(cp, job.job_id);
    expect(s.status).toBe('completed');
    expect(s.counts.ready).toBe(FILES);
    await checkIndex(cp, 'crash');
    // The killed process's temp files are removed by the next start (their pid is gone).
    expect(tempFiles(dataDir)).toEqual([]);
    await cp.close();
  });

  it('two servers on the same data dir share the work and never download a file twice', async () => {
    const dataDir = tempDir();
    const a = await startCloudport({ dataDir, args: ['--concurrency', '3'] });
    const b = await startCloudport({ dataDir, args: ['--concurrency', '3'] });
    const connector = (await a.ok('create_connector', env.connector('durable'))).connector.id;
    env.proxy.resetCounts();
    const job = await a.ok('start_import', { connector_id: connector, index: 'shared' });
    const [sa, sb] = await Promise.all([waitForJob(a, job.job_id), waitForJob(b, job.job_id)]);
    expect(sa.status).toBe('completed');
    expect(sb.counts).toEqual(sa.counts);
    expect(sa.counts.ready).toBe(FILES);
    const perKey = new Map<string, number>();
    for (const k of env.proxy.gets) perKey.set(k, (perKey.get(k) ?? 0) + 1);
    expect(perKey.size).toBe(FILES);
    expect([...perKey.values()].every((n) => n === 1)).toBe(true);
    await checkIndex(b, 'shared');
    await a.close();
    await b.close();
  });
});
