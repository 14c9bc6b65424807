import fs from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCloudport, tempDir, waitForJob } from '../helpers/cloudport.js';
import { sha256, startS3Env, type S3Env } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startProxy } from '../support/s3-proxy.mjs';

const BLOB_ENV = { CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID: 'AKIABLOB000000000000', CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY: 'blob-e2e-secret-value-42' };

describe('the built server with --blob-store s3://bucket/prefix', () => {
  let env: S3Env;
  let send: (c: unknown) => Promise<any>;
  const blobKeys = async () => {
    const out = await send(new ListObjectsV2Command({ Bucket: 'cas-e2e', Prefix: 'team/blobs/' }));
    // The blob store's marker (.cloudport-content-id) is no blob.
    return ((out.Contents ?? []) as { Key: string }[]).map((o) => o.Key).filter((k) => !k.endsWith('/.cloudport-content-id')).sort();
  };

  beforeAll(async () => {
    env = await startS3Env(['src-e2e', 'cas-e2e']);
    const client = (env.s3 as unknown as { client(): { send(c: unknown): Promise<any> } }).client();
    send = (c) => client.send(c);
    await env.s3.put('src-e2e', 'docs/a.txt', 'alpha text');
    await env.s3.put('src-e2e', 'docs/b.txt', 'bravo text');
    await env.s3.put('src-e2e', 'docs/c.txt', 'alpha text'); // same content as a.txt
  });
  afterAll(async () => env?.stop());

  it('imports into the bucket (SQLite store), reads items with ranged GETs, removes blobs on delete, sweeps orphans at start-up', async () => {
    const dataDir = tempDir();
    const args = ['--blob-store', 's3://cas-e2e/team/blobs', '--blob-store-endpoint', env.s3.endpoint];
    let cp = await startCloudport({ dataDir, args, env: BLOB_ENV });
    try {
      const connector = (await cp.ok('create_connector', env.connector('src-e2e'))).connector.id;
      const job = await cp.ok('start_import', { connector_id: connector, index: 'docs', prefix: 'docs/' });
      const s = await waitForJob(cp, job.job_id);
      expect(s.counts).toMatchObject({ ready: 2, deduped: 1, failed: 0 });
      const a = sha256('alpha text');
      const b = sha256('bravo text');
      expect(await blobKeys()).toEqual([`team/blobs/${a.slice(0, 2)}/${a}`, `team/blobs/${b.slice(0, 2)}/${b}`].sort());
      expect(fs.existsSync(path.join(dataDir, 'blobs'))).toBe(false);
      expect((await cp.ok('read_item', { index: 'docs', key: 'docs/a.txt' })).text).toBe('alpha text');
      expect((await cp.ok('read_item', { index: 'docs', key: 'docs/b.txt', offset: 6, length: 4 })).text).toBe('text');
      // Deleting the only item that uses a blob removes it from the bucket.
      expect((await cp.ok('delete_item', { index: 'docs', key: 'docs/b.txt' })).blob_removed).toBe(true);
      expect(await blobKeys()).toEqual([`team/blobs/${a.slice(0, 2)}/${a}`]);
      await cp.close();

      // An orphan (a blob no item references, e.g. left by a crash) is swept by the next start.
      const orphan = sha256('orphan');
      await send(new PutObjectCommand({ Bucket: 'cas-e2e', Key: `team/blobs/${orphan.slice(0, 2)}/${orphan}`, Body: 'orphan' }));
      cp = await startCloudport({ dataDir, args, env: BLOB_ENV });
      for (let i = 0; i < 100 && (await blobKeys()).length > 1; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await blobKeys()).toEqual([`team/blobs/${a.slice(0, 2)}/${a}`]);
      expect((await cp.ok('read_item', { index: 'docs', key: 'docs/a.txt' })).text).toBe('alpha text');
      expect((await cp.ok('delete_index', { index: 'docs' })).blobs_removed).toBe(1);
      expect(await blobKeys()).toEqual([]);
      expect(cp.stderr()).not.toContain(BLOB_ENV.CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY);
    } finally {
      await cp.close();
    }
  });

  it('a blob store failing for a while: temporary errors send files back for a later try; a refusal fails them without blaming the connector', async () => {
    // The blob store behind its own fault proxy (the connector's reads are not affected).
    const proxy = await startProxy({ upstream: env.s3.endpoint });
    const args = ['--blob-store', 's3://cas-e2e/flaky', '--blob-store-endpoint', proxy.endpoint];
    const cp = await startCloudport({ dataDir: tempDir(), args, env: BLOB_ENV });
    try {
      const connector = (await cp.ok('create_connector', env.connector('src-e2e'))).connector.id;
      // 503 SlowDown for the first 5 PUTs: more than the SDK's own 4 attempts, so one file goes back to pending once.
      proxy.addFault({ match: { op: 'PutObject' }, times: 5, action: { type: 'status', status: 503, code: 'SlowDown', message: 'Reduce your request rate.' } });
      const job = await cp.ok('start_import', { connector_id: connector, index: 'flaky', prefix: 'docs/', dedupe: false });
      const s = await waitForJob(cp, job.job_id);
      expect(s.counts).toMatchObject({ ready: 3, failed: 0, pending: 0 });
      expect(proxy.counts.PutObject).toBeGreaterThanOrEqual(6);
      expect((await cp.ok('read_item', { index: 'flaky', key: 'docs/b.txt' })).text).toBe('bravo text');

      // Refused (403): the files fail and say why. Six files refused would make the connector FAILED if they
      // counted as its credential failures (5 in a row); they are the blob store's, and a job failed by its
      // files' own failures does not count against the connector either.
      proxy.clearFaults();
      proxy.addFault({ match: { op: 'PutObject' }, times: Infinity, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
      for (let i = 0; i < 6; i++) await env.s3.put('src-e2e', `more/d${i}.txt`, `delta text ${i}`);
      const job2 = await cp.ok('start_import', { connector_id: connector, index: 'refused', prefix: 'more/' });
      const s2 = await waitForJob(cp, job2.job_id);
      expect(s2.counts).toMatchObject({ ready: 0, failed: 6 });
      const failed = await cp.ok('import_status', { job_id: job2.job_id, files_status: 'failed' });
      expect(failed.files[0].error).toMatch(/storing the content failed: blob store s3:\/\/cas-e2e\/flaky: upload failed \(HTTP 403/);
      const c = (await cp.ok('get_connector', { connector_id: connector })).connector;
      expect(c.status).toBe('ACTIVE');
      expect(c.health?.consecutive_failures ?? c.consecutive_failures).toBe(0);
      expect(cp.stderr()).not.toContain(BLOB_ENV.CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY);
    } finally {
      await cp.close();
      await proxy.stop();
    }
  });

  it('refuses to start when the bucket is missing, naming the flag and not the secret', async () => {
    const r = await runCli(['--data-dir', tempDir(), '--blob-store', 's3://no-such-cas', '--blob-store-endpoint', env.s3.endpoint], BLOB_ENV);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('s3://no-such-cas/');
    expect(r.stderr).toContain('--blob-store');
    expect(r.stderr).not.toContain(BLOB_ENV.CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY);
  });
});
