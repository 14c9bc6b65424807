// An in-memory S3 server (fauxqs 1.9.2) on 127.0.0.1 for tests and the demo.
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { forceLoopbackListen } from './loopback.mjs';

/**
 * @param {{ buckets?: string[] }} [opts]
 * @returns {Promise<{ endpoint: string, port: number, client: () => S3Client,
 *   put: (bucket: string, key: string, body: Buffer | string | import('node:stream').Readable, opts?: { contentType?: string }) => Promise<void>,
 *   createBucket: (name: string) => void, stop: () => Promise<void> }>}
 */
export async function startS3({ buckets = [] } = {}) {
  forceLoopbackListen();
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const { startFauxqs } = await import('fauxqs');
  const server = await startFauxqs({ port: 0, logger: false });
  const endpoint = `http://127.0.0.1:${server.port}`;
  for (const b of buckets) server.createBucket(b);
  const clients = [];
  const client = () => {
    const c = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    clients.push(c);
    return c;
  };
  const s3 = client();
  return {
    endpoint,
    port: server.port,
    client,
    createBucket: (name) => server.createBucket(name),
    async put(bucket, key, body, opts = {}) {
      const big = typeof body !== 'string' && !Buffer.isBuffer(body) ? true : Buffer.byteLength(body) > 5 * 1024 * 1024;
      if (big) {
        await new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: body, ContentType: opts.contentType }, partSize: 5 * 1024 * 1024 }).done();
      } else {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: opts.contentType }));
      }
    },
    async stop() {
      for (const c of clients) c.destroy();
      await server.stop();
    },
  };
}
