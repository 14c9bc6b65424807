import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { pgSchema } from '../helpers/pg.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allFiles, CLI, sleep, spawnReady, startCloudport, tempDir, tempFiles, waitForJob, waitUntil, type Running } from '../helpers/cloudport.js';
import { bytes, sha256, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Crash tests for the job engine: a process killed with SIGKILL mid-import (SQLite, one process),
 * three `cloudport worker` processes and an MCP server on one PostgreSQL database with the S3 blob
 * store, one worker killed with SIGKILL mid-run (that part runs once the PostgreSQL store is built).
 */
const OBJECTS = 2000;
const SIZE = 16 * 1024;
const LEASE = { CLOUDPORT_LEASE_MS: '3000' }; // short, so a killed process's work is taken over soon; long enough for a loaded 2-core machine's heartbeats
const FINAL = new Set(['ready', 'deduped', 'skipped', 'failed', 'canceled']);
const MASTER_KEY = randomBytes(32).toString('base64');

const hasPostgresStore = fs.existsSync(path.join(path.dirname(CLI), 'store', 'postgres.js')) && fs.readFileSync(path.join(path.dirname(CLI), 'config.js'), 'utf8').includes('--database-url');

async function allItems(cp: Running, index: string): Promise<{ key: string; sha256: string }[]> {
  const out: { key: string; sha256: string }[] = [];
  let cursor: string | undefined;
  do {
    const s = await cp.ok('list_index_items', { index, limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(...s.items);
    cursor = s.next_cursor ?? undefined;
  } while (cursor);
  return out;
}

function localBlobs(dataDir: string): string[] {
  const root = path.join(dataDir, 'blobs');
  if (!fs.existsSync(root)) return [];
  // The blob store's marker (.cloudport-content-id) is no blob.
  return fs.readdirSync(root).filter((n) => !n.startsWith('.')).flatMap((shard) => fs.readdirSync(path.join(root, shard)));
}

/** Checks the end state shared by both crash tests: one final state per object, one item per key with the right content, GETs per key. */
async function checkImport(cp: Running, jobId: string, index: string, content: Map<string, Buffer>, gets: (string | null)[]) {
  const s = await waitForJob(cp, jobId, 90_000);
  expect(s.status).toBe('completed');
  expect(s.counts).toEqual({ pending: 0, ready: OBJECTS, deduped: 0, skipped: 0, failed: 0, canceled: 0 });
  const files = await allFiles(cp, jobId);
  expect(files).toHaveLength(OBJECTS);
  expect(new Set(files.map((f) => f.key)).size).toBe(OBJECTS);
  expect(files.every((f) => FINAL.has(f.status))).toBe(true);
  // Stored once: every key is one item with its own content; nothing was deduped against a twin of itself.
  const items = await allItems(cp, index);
  expect(items).toHaveLength(OBJECTS);
  for (const it of items) expect(it.sha256).toBe(sha256(content.get(it.key)!));
  // Only files in flight at the kill are fetched again, and at most once more.
  const perKey = new Map<string, number>();
  for (const k of gets) if (k) perKey.set(k, (perKey.get(k) ?? 0) + 1);
  expect(perKey.size).toBe(OBJECTS);
  const refetched = [...perKey].filter(([, n]) => n > 1);
  const where = refetched.map(([k, n]) => `${k} ×${n} at ${gets.flatMap((g, i) => (g === k ? [i] : [])).join('/')}`).join(', ');
  expect(refetched.every(([, n]) => n === 2), where).toBe(true);
  return { items, refetched: refetched.length, where };
}

describe('workers: crashes', () => {
  let env: S3Env;
  const content = new Map<string, Buffer>();

  beforeAll(async () => {
    env = await startS3Env(['many', 'cas']);
    const puts: Promise<void>[] = [];
    for (let i = 0; i < OBJECTS; i++) {
      const k = `obj/${String(i).padStart(5, '0')}.bin`;
      const body = bytes(SIZE, 7 + (i % 97));
      body.writeUInt32LE(i, 0); // distinct content per object: nothing is a duplicate of anything
      content.set(k, body);
      puts.push(env.s3.put('many', k, content.get(k)!));
      if (puts.length >= 64) await Promise.all(puts.splice(0));
    }
    await Promise.all(puts);
  });
  afterAll(async () => env?.stop());

  it('SQLite: a process killed with SIGKILL mid-import of 2,000 objects is restarted; the job completes, each key stored once, no orphan blob, no temp file', async () => {
    const dataDir = tempDir();
    let cp = await startCloudport({ dataDir, args: ['--workers', '4'], env: LEASE });
    const connector = (await cp.ok('create_connector', env.connector('many'))).connector.id;
    env.proxy.resetCounts(); // create_connector's read check made a GET
    const job = await cp.ok('start_import', { connector_id: connector, index: 'crash' });
    const mid = await waitUntil(cp, job.job_id, (s) => s.counts.ready >= 400, '400 ready');
    process.kill(cp.pid!, 'SIGKILL');
    await cp.close().catch(() => {});
    expect(mid.counts.pending).toBeGreaterThan(0);

    cp = await startCloudport({ dataDir, args: ['--workers', '4'], env: LEASE });
    const { items, refetched, where } = await checkImport(cp, job.job_id, 'crash', content, env.proxy.gets);
    // What the killed process held: up to 4 transfers (--workers 4) and up to 4 files that had given
    // up their slot and waited for their batch to be written.
    expect(refetched, where).toBeLessThanOrEqual(8);
    // No orphan: the blobs on disk are exactly the items' content; no temp file is left.
    expect(localBlobs(dataDir).sort()).toEqual([...new Set(items.map((i) => i.sha256))].sort());
    expect(tempFiles(dataDir)).toEqual([]);
    await cp.close();
  });

  describe.skipIf(!hasPostgresStore)('PostgreSQL', () => {
    const { schema, admin, procs, url: urlOf } = pgSchema('cp_workers');
    const url = urlOf();

    // The buckets are on loopback: workers apply the tenant policy, so the operator's opt-in is given (stdio stores no policy).
    function worker(dataDir: string, extraEnv: Record<string, string> = {}) {
      const args = ['worker', '--data-dir', dataDir, '--workers', '4', '--allow-private-endpoints', '--database-url', url, '--blob-store', 's3://cas/blobs', '--blob-store-endpoint', env.s3.endpoint];
      const workerEnv = { CLOUDPORT_MASTER_KEY: MASTER_KEY, CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID: 'AKIACAS0000000000000', CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY: 'cas-secret-value-1234', ...LEASE, ...extraEnv };
      return spawnReady(args, workerEnv, 'cloudport worker ready', { track: (p) => procs.push(p) });
    }

    it('three workers and an MCP server on one database and one S3 blob store; one worker killed with SIGKILL; the job completes, nothing stored twice, no orphan blob, no temp file', async () => {
      // One host's data dir (temp files), shared by all four processes; the content lives in the S3 blob store.
      const dataDir = tempDir();
      const blobArgs = ['--database-url', url, '--blob-store', 's3://cas/blobs', '--blob-store-endpoint', env.s3.endpoint];
      const blobEnv = { CLOUDPORT_MASTER_KEY: MASTER_KEY, CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID: 'AKIACAS0000000000000', CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY: 'cas-secret-value-1234', ...LEASE };
      const mcp = await startCloudport({ dataDir, args: ['--workers', '0', ...blobArgs], env: blobEnv });
      const workers = [await worker(dataDir), await worker(dataDir), await worker(dataDir)];
      try {
        const connector = (await mcp.ok('create_connector', env.connector('many'))).connector.id;
        env.proxy.resetCounts(); // create_connector's read check made a GET
        const job = await mcp.ok('start_import', { connector_id: connector, index: 'scaled' });
        await waitUntil(mcp, job.job_id, (s) => s.counts.ready >= 400, '400 ready');
        const victim = workers[0]!;
        const held = await admin.query(`SELECT COUNT(*)::int AS n FROM ${schema}.job_files WHERE lease_owner LIKE $1`, [`%:${victim.proc.pid}:%`]);
        victim.proc.kill('SIGKILL');
        await victim.exited;
        expect(held.rows[0].n).toBeGreaterThan(0);

        const { items, refetched, where } = await checkImport(mcp, job.job_id, 'scaled', content, env.proxy.gets);
        // What the killed process held: up to 4 transfers (--workers 4) and up to 4 files that had given
        // up their slot and waited for their batch to be written.
        expect(refetched, where).toBeLessThanOrEqual(8);
        // One item per key in the shared database (the unique key would refuse a second row; a second commit would have shown as deduped).
        const dupItems = await admin.query(`SELECT key, COUNT(*)::int AS n FROM ${schema}.items WHERE index_name = 'scaled' GROUP BY key HAVING COUNT(*) > 1`);
        expect(dupItems.rows).toEqual([]);
        // No orphan blob in the shared blob store; nothing was written to a local blobs dir.
        const s3 = env.s3 as unknown as { client(): { send(c: unknown): Promise<any> } };
        const c = s3.client();
        const stored: string[] = [];
        let token: string | undefined;
        do {
          const page = await c.send(new ListObjectsV2Command({ Bucket: 'cas', Prefix: 'blobs/', ContinuationToken: token }));
          stored.push(...(page.Contents ?? []).map((o: { Key: string }) => o.Key.split('/').pop()!).filter((k: string) => !k.startsWith('.')));
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
        expect(stored.sort()).toEqual([...new Set(items.map((i) => i.sha256))].sort());
        expect(localBlobs(dataDir)).toEqual([]);
        // The killed worker's temp files are swept by the live processes on this host.
        for (let i = 0; i < 100 && tempFiles(dataDir).length; i++) await sleep(100);
        expect(tempFiles(dataDir)).toEqual([]);
        // A process with another master key refuses to start on this database.
        const wrong = await worker(tempDir(), { CLOUDPORT_MASTER_KEY: randomBytes(32).toString('base64') }).catch((e: Error) => e);
        expect(wrong).toBeInstanceOf(Error);
        expect((wrong as Error).message).toMatch(/exited 1/);
        expect((wrong as Error).message).toMatch(/master key does not match/);
        expect((wrong as Error).message).not.toContain('cas-secret-value-1234');
        // The blob store's secret never reaches a log line of any process.
        for (const text of [mcp.stderr(), ...workers.map((w) => w.stderr())]) expect(text).not.toContain('cas-secret-value-1234');
        // SIGTERM: the live workers hand back their leases and exit 0.
        for (const w of workers.slice(1)) {
          w.proc.kill('SIGTERM');
          expect(await w.exited).toBe(0);
        }
        const leased = await admin.query(`SELECT COUNT(*)::int AS n FROM ${schema}.job_files WHERE lease_owner IS NOT NULL`);
        expect(leased.rows[0].n).toBe(0);
      } finally {
        for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGTERM');
        await Promise.all(workers.map((w) => w.exited));
        await mcp.close();
      }
    });
  });
});
