/**
 * "Store unreachable" is the store's own verdict (PostgresStore tags its connection losses), never a
 * socket error's code: an S3 blob store (--blob-store s3://…) whose GET body is cut raises a raw
 * ECONNRESET, and that is the blob bucket's trouble, which must not pause the process's claims or defer
 * a file for ever as if the database were gone.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../src/store/s3-blobs.js';
import { isStoreUnreachable } from '../../src/core/jobs/store-health.js';
import { tempDir } from '../helpers/cloudport.js';

const SHA = 'a'.repeat(64);
let srv: http.Server;
let blobs: S3BlobStore;

beforeAll(async () => {
  // An S3-compatible blob store whose GET answers cut the connection after 10 of 100 bytes.
  srv = http.createServer((req, res) => {
    res.writeHead(206, { 'content-length': '100', 'content-range': 'bytes 0-99/100', 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(10));
    setImmediate(() => req.socket.destroy());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  blobs = new S3BlobStore({
    bucket: 'b',
    prefix: 'p',
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    dataDir: tempDir(),
    env: { CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID: 'a', CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY: 'b' },
  });
});
afterAll(() => {
  blobs?.close();
  srv?.close();
});

describe('a blob store network error is not the database being unreachable', () => {
  it('a cut blob read (a raw ECONNRESET) is not the store being unreachable', async () => {
    const e = await blobs.read(SHA, 0, 100).catch((x: unknown) => x);
    expect((e as { code?: string }).code).toBe('ECONNRESET');
    // The database is fine; this is the blob bucket's connection.
    expect(isStoreUnreachable(e)).toBe(false);
  });
});
