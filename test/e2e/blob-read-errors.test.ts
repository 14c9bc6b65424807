import { DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCloudport, tempDir, waitForJob } from '../helpers/cloudport.js';
import { connectHttp, startHttpServer } from '../helpers/http.js';
import { pgSchema } from '../helpers/pg.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startProxy } from '../support/s3-proxy.mjs';

/**
 * read_item on a PostgreSQL store with an S3 blob store (--blob-store s3://…) when the blob store, not the
 * item, is at fault: a blob store answering 503 for a while is a temporary error that names the blob store
 * (not "unexpected: the stored content is missing … Import the item again"), and a blob bucket that went
 * away is reported as the blob store's problem, naming s3://bucket/prefix, not as a lost item to re-import.
 * Over HTTP a tenant hears of the failure (temporary) without the operator's bucket, which the log names.
 */
const pg = pgSchema('qa_pgb_blobread');
// The second case's store of its own: a store's content lives in one blob store (its marker recorded).
const pgGone = pgSchema('qa_pgb_blobgone');
const pgHttp = pgSchema('qa_pgb_blobhttp');
const BLOB_ENV = { CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID: 'AKIABLOB000000000000', CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY: 'blob-qa-secret-value-77', CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 5).toString('base64') };

describe('read_item when the S3 blob store fails (PostgreSQL store)', () => {
  let env: S3Env;
  let send: (c: unknown) => Promise<any>;
  beforeAll(async () => {
    env = await startS3Env(['rb-src', 'rb-cas', 'rb-gone']);
    const client = (env.s3 as unknown as { client(): { send(c: unknown): Promise<any> } }).client();
    send = (c) => client.send(c);
    await env.s3.put('rb-src', 'a.txt', 'alpha text', { contentType: 'text/plain' });
  });
  afterAll(async () => env?.stop());

  it('a blob store answering 503 gives a temporary error naming the blob store, not "missing, import again"', async () => {
    const proxy = await startProxy({ upstream: env.s3.endpoint });
    const cp = await startCloudport({ dataDir: tempDir(), args: ['--database-url', pg.url(), '--blob-store', 's3://rb-cas/p', '--blob-store-endpoint', proxy.endpoint], env: BLOB_ENV });
    try {
      const cid = (await cp.ok('create_connector', env.connector('rb-src'))).connector.id;
      expect((await waitForJob(cp, (await cp.ok('start_import', { connector_id: cid, index: 'x', dedupe: false })).job_id)).counts.ready).toBe(1);
      // raw: true reads the stored bytes (not the extracted text, which lives in the database).
      expect((await cp.ok('read_item', { index: 'x', key: 'a.txt', raw: true })).text).toBe('alpha text');
      proxy.addFault({ match: { op: 'GetObject' }, times: Infinity, action: { type: 'status', status: 503, code: 'SlowDown', message: 'Reduce your request rate.' } });
      const r = await cp.call('read_item', { index: 'x', key: 'a.txt', raw: true });
      expect(r.isError).toBe(true);
      expect(r.data.error.temporary).toBe(true);
      expect(r.text).toMatch(/blob store|s3:\/\/rb-cas/);
      expect(r.text).not.toMatch(/Import the item again/);
      // The blob is still there: once the store answers again, the same call reads it.
      proxy.clearFaults();
      expect((await cp.ok('read_item', { index: 'x', key: 'a.txt', raw: true })).text).toBe('alpha text');
    } finally {
      await cp.close();
      await proxy.stop();
    }
  });

  it('a blob bucket that went away is named in read_item\'s error, not reported as a lost item to import again', async () => {
    const cp = await startCloudport({ dataDir: tempDir(), args: ['--database-url', pgGone.url(), '--blob-store', 's3://rb-gone/q', '--blob-store-endpoint', env.s3.endpoint], env: BLOB_ENV });
    try {
      const cid = (await cp.ok('create_connector', env.connector('rb-src'))).connector.id;
      await waitForJob(cp, (await cp.ok('start_import', { connector_id: cid, index: 'y' })).job_id);
      const objs = ((await send(new ListObjectsV2Command({ Bucket: 'rb-gone' }))).Contents ?? []) as { Key: string }[];
      for (const o of objs) await send(new DeleteObjectCommand({ Bucket: 'rb-gone', Key: o.Key }));
      await send(new DeleteBucketCommand({ Bucket: 'rb-gone' }));
      const r = await cp.call('read_item', { index: 'y', key: 'a.txt', raw: true });
      expect(r.isError).toBe(true);
      expect(r.text).toMatch(/s3:\/\/rb-gone/);
      expect(r.text).not.toMatch(/Import the item again/);
    } finally {
      await cp.close();
    }
  });

  it('over HTTP a tenant is told of a failing blob store without its bucket, and the log names it', async () => {
    const proxy = await startProxy({ upstream: env.s3.endpoint });
    const dataDir = tempDir();
    const k = await runCli(['keys', 'create', '--org', 'acme', '--data-dir', dataDir, '--database-url', pgHttp.url()], BLOB_ENV);
    expect(k.code, k.stderr).toBe(0);
    const key = k.stdout.trim().split('\n').pop()!;
    const srv = await startHttpServer(dataDir, ['--database-url', pgHttp.url(), '--blob-store', 's3://rb-cas/h', '--blob-store-endpoint', proxy.endpoint, '--allow-endpoint-cidr', '127.0.0.1/32'], BLOB_ENV);
    const c = await connectHttp(srv.url, key);
    try {
      const cid = (await c.ok('create_connector', env.connector('rb-src'))).connector.id;
      const { job_id } = await c.ok('start_import', { connector_id: cid, index: 'h', dedupe: false });
      expect((await c.ok('import_status', { job_id, wait_seconds: 30 })).status).toBe('completed');
      proxy.addFault({ match: { op: 'GetObject' }, times: Infinity, action: { type: 'status', status: 503, code: 'SlowDown', message: 'Reduce your request rate.' } });
      const r = await c.call('read_item', { index: 'h', key: 'a.txt', raw: true });
      expect(r.isError).toBe(true);
      expect(r.data.error.temporary).toBe(true);
      expect(r.text).not.toMatch(/rb-cas|s3:\/\//);
      expect(srv.stderr()).toMatch(/blob store read failed.*rb-cas/);
    } finally {
      await c.close();
      await srv.stop();
      await proxy.stop();
    }
  });
});
