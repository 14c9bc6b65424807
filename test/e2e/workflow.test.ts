import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { bytes, startS3Env, type S3Env } from '../helpers/s3env.js';

function blobCount(dataDir: string): number {
  return fs.readdirSync(path.join(dataDir, 'blobs'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
}

describe('agent workflow over stdio', () => {
  let env: S3Env;
  let cp: Running;
  let dataDir: string;
  let conn: string;

  beforeAll(async () => {
    env = await startS3Env(['wfb', 'many']);
    for (let i = 0; i < 10; i++) await env.s3.put('wfb', `a/f${i}.txt`, `file ${i}`);
    await env.s3.put('wfb', 'a/big.bin', bytes(50_000, 1));
    await env.s3.put('wfb', 'a/skip.tmp', 'temp');
    dataDir = tempDir();
    cp = await startCloudport({ dataDir, env: { CLOUDPORT_BROWSE_BUDGET_MS: '1' } });
    conn = (await cp.ok('create_connector', env.connector('wfb'))).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('import_status wait_seconds waits for the job to end: one call, with progress notifications meanwhile, and at once for a final job', async () => {
    env.proxy.addFault({ match: { op: 'GetObject' }, times: 3, action: { type: 'stall', afterBytes: 1, ms: 400 } });
    const job = await cp.ok('start_import', { connector_id: conn, index: 'wait', prefix: 'a/', pattern: 'f*.txt' });
    const progress: { progress: number; total?: number }[] = [];
    let calls = 0;
    let last = await cp.ok('import_status', { job_id: job.job_id });
    while (!['completed', 'failed'].includes(last.status) && calls < 50) {
      calls++;
      const r = await cp.client.callTool({ name: 'import_status', arguments: { job_id: job.job_id, wait_seconds: 30 } }, undefined, {
        onprogress: (p) => progress.push(p),
        timeout: 60_000,
      });
      last = r.structuredContent as Record<string, any>;
    }
    // Counts moved many times while it ran; the agent spent one turn on it.
    expect(calls).toBe(1);
    expect(last.status).toBe('completed');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]!.total).toBe(10);
    const final = await cp.ok('import_status', { job_id: job.job_id, wait_seconds: 30 });
    expect(final.status).toBe('completed');
    env.proxy.clearFaults();
  });

  it('a waiting call can be cancelled by the client', async () => {
    env.proxy.addFault({ match: { op: 'GetObject' }, times: 100, action: { type: 'stall', afterBytes: 1, ms: 60_000 } });
    const job = await cp.ok('start_import', { connector_id: conn, index: 'cancelwait', keys: ['a/f1.txt'] });
    const ctl = new AbortController();
    const p = cp.client.callTool({ name: 'import_status', arguments: { job_id: job.job_id, wait_seconds: 30 } }, undefined, { signal: ctl.signal });
    setTimeout(() => ctl.abort('enough'), 200);
    await expect(p).rejects.toThrow();
    expect((await cp.ok('cancel_import', { job_id: job.job_id })).status).toBe('canceled');
    env.proxy.clearFaults();
  });

  it('start_import: idempotency_key returns the same job, or a conflict for other arguments', async () => {
    const a = await cp.ok('start_import', { connector_id: conn, index: 'idem', prefix: 'a/', idempotency_key: 'k-1' });
    const b = await cp.ok('start_import', { connector_id: conn, index: 'idem', prefix: 'a/', idempotency_key: 'k-1' });
    expect(b.job_id).toBe(a.job_id);
    expect(b.replayed).toBe(true);
    const c = await cp.call('start_import', { connector_id: conn, index: 'idem', prefix: 'b/', idempotency_key: 'k-1' });
    expect(c.data.error).toMatchObject({ kind: 'conflict', field: 'idempotency_key' });
    await waitForJob(cp, a.job_id);
  });

  it('start_import: dry_run counts without a job; exclude and size/date filters select files', async () => {
    const before = (await cp.ok('list_imports', { limit: 1000 })).imports.length;
    const dry = await cp.ok('start_import', { connector_id: conn, index: 'dry', prefix: 'a/', dry_run: true });
    expect(dry).toMatchObject({ job_id: null, status: null, accepted: 12, listing_complete: true });
    expect(dry.bytes).toBeGreaterThan(50_000);
    expect((await cp.ok('list_imports', { limit: 1000 })).imports.length).toBe(before);
    const ex = await cp.ok('start_import', { connector_id: conn, index: 'dry', prefix: 'a/', exclude: ['*.tmp', 'big.*'], dry_run: true });
    expect(ex.accepted).toBe(10);
    const big = await cp.ok('start_import', { connector_id: conn, index: 'dry', prefix: 'a/', min_size: 1000, dry_run: true });
    expect(big.sample).toEqual(['a/big.bin']);
    const small = await cp.ok('start_import', { connector_id: conn, index: 'dry', prefix: 'a/', max_size: 5, dry_run: true });
    expect(small.sample).toEqual(['a/skip.tmp']);
    const future = await cp.ok('start_import', { connector_id: conn, index: 'dry', prefix: 'a/', modified_after: '2999-01-01', dry_run: true });
    expect(future.accepted).toBe(0);
    const bad = await cp.call('start_import', { connector_id: conn, index: 'dry', modified_after: 'yesterday' });
    expect(bad.data.error).toMatchObject({ kind: 'config_invalid', field: 'modified_after' });
  });

  it('retry_of queues only the failed files of a finished job', async () => {
    env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'f3' }, times: 10, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'denied' } });
    const job = await cp.ok('start_import', { connector_id: conn, index: 'retry', prefix: 'a/', pattern: 'f*.txt' });
    const s = await waitForJob(cp, job.job_id);
    expect(s).toMatchObject({ status: 'completed_with_errors', counts: { ready: 9, failed: 1 } });
    env.proxy.clearFaults();
    const r = await cp.ok('start_import', { retry_of: job.job_id });
    expect(r).toMatchObject({ accepted: 1, sample: ['a/f3.txt'] });
    expect((await waitForJob(cp, r.job_id)).counts.ready).toBe(1);
    const none = await cp.call('start_import', { retry_of: r.job_id });
    expect(none.data.error.kind).toBe('conflict');
  });

  it('retry_of makes one retry job: calls while it runs answer it, and once it is final the error names it', async () => {
    env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'f3' }, times: 10, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'denied' } });
    const job = await cp.ok('start_import', { connector_id: conn, index: 'retry-once', prefix: 'a/', pattern: 'f*.txt' });
    expect((await waitForJob(cp, job.job_id)).counts.failed).toBe(1);
    env.proxy.clearFaults();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'f3' }, times: 1, action: { type: 'before', run: () => held } });
    const [a, b] = await Promise.all([cp.ok('start_import', { retry_of: job.job_id }), cp.ok('start_import', { retry_of: job.job_id })]);
    expect(b.job_id).toBe(a.job_id);
    const again = await cp.call('start_import', { retry_of: job.job_id });
    expect(again.data.job_id).toBe(a.job_id);
    expect(again.text).toMatch(new RegExp(`${a.job_id} \\w+ \\(existing job\\).*already retries job ${job.job_id}`));
    const elsewhere = await cp.call('start_import', { retry_of: job.job_id, index: 'other' });
    expect(elsewhere.data.error).toMatchObject({ kind: 'conflict', field: 'index' });
    release();
    expect((await waitForJob(cp, a.job_id)).counts.ready).toBe(1);
    const after = await cp.call('start_import', { retry_of: job.job_id });
    expect(after.data.error).toMatchObject({ kind: 'conflict', field: 'retry_of' });
    expect(after.text).toContain(`retried by job ${a.job_id} (completed, 0 failed)`);
    expect(after.text).toMatch(/Nothing of job \w+ is left to retry/);
  });

  it('a job of the caller keyed "retry_of:<job>" is not taken for the retry of that job', async () => {
    env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'f3' }, times: 10, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'denied' } });
    const job = await cp.ok('start_import', { connector_id: conn, index: 'retry-keyed', prefix: 'a/', pattern: 'f*.txt' });
    expect((await waitForJob(cp, job.job_id)).counts.failed).toBe(1);
    env.proxy.clearFaults();
    const other = await cp.ok('start_import', { connector_id: conn, index: 'retry-keyed', prefix: 'a/', pattern: 'f0.txt', idempotency_key: `retry_of:${job.job_id}` });
    await waitForJob(cp, other.job_id);
    const r = await cp.ok('start_import', { retry_of: job.job_id });
    expect(r).toMatchObject({ accepted: 1, sample: ['a/f3.txt'] });
    expect(r.job_id).not.toBe(other.job_id);
  });

  it('import_logs lists starts, ends and per-file errors, oldest first, with pagination', async () => {
    const jobs = (await cp.ok('list_imports', { index: 'retry' })).imports;
    const first = jobs[jobs.length - 1].job_id;
    const logs = await cp.ok('import_logs', { job_id: first });
    expect(logs.entries[0].message).toMatch(/import started/);
    expect(logs.entries.some((e: { level: string; key?: string }) => e.level === 'error' && e.key === 'a/f3.txt')).toBe(true);
    expect(logs.entries[logs.entries.length - 1].message).toMatch(/completed_with_errors/);
    const byConn = await cp.ok('import_logs', { connector_id: conn, limit: 2 });
    expect(byConn.entries).toHaveLength(2);
    const next = await cp.ok('import_logs', { connector_id: conn, limit: 2, cursor: byConn.next_cursor });
    expect(next.entries[0].time >= byConn.entries[1].time).toBe(true);
    expect((await cp.call('import_logs', { job_id: 'imp_unknown' })).data.error.kind).toBe('not_found');
  });

  it('list_imports finds jobs by connector, index and status, across a restart', async () => {
    await cp.close();
    cp = await startCloudport({ dataDir, env: { CLOUDPORT_BROWSE_BUDGET_MS: '1' } });
    const all = await cp.ok('list_imports', { connector_id: conn, limit: 1000 });
    expect(all.imports.length).toBeGreaterThanOrEqual(5);
    expect(all.imports[0].created_at >= all.imports[1].created_at).toBe(true);
    const retry = await cp.ok('list_imports', { index: 'retry' });
    expect(retry.imports.map((j: { index: string }) => j.index)).toEqual(['retry', 'retry']);
    const canceled = await cp.ok('list_imports', { status: 'canceled' });
    expect(canceled.imports.every((j: { status: string }) => j.status === 'canceled')).toBe(true);
    const p1 = await cp.ok('list_imports', { limit: 2 });
    const p2 = await cp.ok('list_imports', { limit: 2, cursor: p1.next_cursor });
    expect(p2.imports[0].job_id < p1.imports[1].job_id).toBe(true);
  });

  it('lists indexes, deletes items and indexes, and removes blobs no index uses', async () => {
    const idx = await cp.ok('list_indexes');
    const wait = idx.indexes.find((i: { name: string }) => i.name === 'wait');
    expect(wait).toMatchObject({ items: 10 });
    expect(wait.bytes).toBeGreaterThan(0);
    const blobs = blobCount(dataDir);
    // 'a/big.bin' is only in index 'idem': deleting it removes its blob.
    const d = await cp.ok('delete_item', { index: 'idem', key: 'a/big.bin' });
    expect(d.blob_removed).toBe(true);
    expect(blobCount(dataDir)).toBe(blobs - 1);
    // f0..f9 are also in other indexes: deleting 'wait' keeps their blobs.
    const di = await cp.ok('delete_index', { index: 'wait' });
    expect(di).toMatchObject({ items_deleted: 10, blobs_removed: 0 });
    expect((await cp.call('list_index_items', { index: 'wait' })).data.error.kind).toBe('not_found');
    // new_only brings a deleted item back.
    const again = await cp.ok('start_import', { connector_id: conn, index: 'idem', prefix: 'a/', import_mode: 'new_only' });
    expect(again.sample).toEqual(['a/big.bin']);
    await waitForJob(cp, again.job_id);
    expect(blobCount(dataDir)).toBe(blobs);
    for (const name of ['idem', 'retry', 'keys', 'cancelwait']) {
      const r = await cp.call('delete_index', { index: name });
      expect(r.isError && r.data.error.kind !== 'not_found', name).toBe(false);
    }
    expect((await cp.call('delete_item', { index: 'dry', key: 'x' })).data.error.kind).toBe('not_found');
  });

  it('refuses to delete an index while an import into it runs', async () => {
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 'busy', keys: ['a/f2.txt'] })).job_id);
    env.proxy.addFault({ match: { op: 'GetObject' }, times: 100, action: { type: 'stall', afterBytes: 1, ms: 60_000 } });
    const job = await cp.ok('start_import', { connector_id: conn, index: 'busy', keys: ['a/f1.txt'] });
    const r = await cp.call('delete_index', { index: 'busy' });
    expect(r.data.error).toMatchObject({ kind: 'conflict', field: 'index' });
    await cp.ok('cancel_import', { job_id: job.job_id });
    env.proxy.clearFaults();
  });

  it('stops a browse page at its time budget and says so in the result', async () => {
    const s3 = (env.s3 as unknown as { client(): import('@aws-sdk/client-s3').S3Client }).client();
    const puts: Promise<unknown>[] = [];
    for (let i = 0; i < 2100; i++) puts.push(s3.send(new PutObjectCommand({ Bucket: 'many', Key: `k/${String(i).padStart(5, '0')}`, Body: 'x' })));
    await Promise.all(puts);
    const many = (await cp.ok('create_connector', env.connector('many'))).connector.id;
    let r = await cp.ok('browse_connector', { connector_id: many, pattern: '**/*.pdf' });
    expect(r.stopped).toBe('time_budget');
    expect(r.next_cursor).toBeTruthy();
    let scanned = r.scanned;
    while (r.next_cursor) {
      r = await cp.ok('browse_connector', { connector_id: many, pattern: '**/*.pdf', cursor: r.next_cursor });
      scanned += r.scanned;
    }
    expect(scanned).toBe(2100);
  });

  it('shows Glacier objects with their storage class and fails them with "needs restore" without a GET', async () => {
    await env.s3.put('wfb', 'cold/archived.bin', 'frozen');
    await env.s3.put('wfb', 'cold/warm.bin', 'warm');
    // fauxqs keeps no storage class: the proxy answers the listing as AWS does for a Glacier object.
    const glacier = (xml: string) =>
      xml.replace(/(<Key>cold\/archived\.bin<\/Key>[\s\S]*?<StorageClass>)STANDARD(<\/StorageClass>)/, '$1GLACIER$2');
    env.proxy.addFault({ match: { op: 'ListObjects' }, times: 2, action: { type: 'transform', fn: glacier } });
    const b = await cp.ok('browse_connector', { connector_id: conn, prefix: 'cold/' });
    expect(b.objects.find((o: { key: string }) => o.key === 'cold/archived.bin').storage_class).toBe('GLACIER');
    env.proxy.resetCounts();
    const job = await cp.ok('start_import', { connector_id: conn, index: 'cold', prefix: 'cold/' });
    expect(job.failed_files).toEqual([{ key: 'cold/archived.bin', error: expect.stringMatching(/^needs restore/) }]);
    const s = await waitForJob(cp, job.job_id);
    expect(s).toMatchObject({ status: 'completed_with_errors', counts: { ready: 1, failed: 1 } });
    expect(env.proxy.gets).toEqual(['cold/warm.bin']);
  });

  it('prunes finished jobs and their logs after the retention period', async () => {
    const job = (await cp.ok('list_imports', { limit: 1 })).imports[0].job_id;
    await cp.close();
    cp = await startCloudport({ dataDir, env: { CLOUDPORT_RETENTION_DAYS: '0' } });
    // Maintenance runs right after start, beside the first calls: wait for its effect, not for a fixed time.
    await until('the finished job to be pruned', async () => (await cp.call('import_status', { job_id: job })).data.error?.kind === 'not_found');
    expect((await cp.ok('import_logs', { job_id: undefined, limit: 1000 })).entries).toEqual([]);
  });
});
