// An in-memory S3 server (fauxqs 1.9.2, in-process) on 127.0.0.1 for tests, the demo and the bench.
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { forceLoopbackListen } from './loopback.mjs';

/** fauxqs caps a request body at 11 MiB; bigger objects go up as multipart (5 MiB is S3's minimum part). */
const PART_SIZE = 5 * 1024 * 1024;

/**
 * @typedef {Buffer | Uint8Array | string | import('node:stream').Readable} S3Body
 * @typedef {{ contentType?: string, metadata?: Record<string, string> }} PutOptions
 * @typedef {object} S3Server
 * @property {string} endpoint        'http://127.0.0.1:PORT'
 * @property {number} port
 * @property {() => S3Client} client  a new path-style client for this server (destroyed by stop())
 * @property {(bucket: string, key: string, body: S3Body, opts?: PutOptions) => Promise<void>} put
 *   stores an object; bodies over 5 MiB (and streams) go up with lib-storage's multipart Upload
 * @property {(name: string) => void} createBucket
 * @property {(name: string) => void} emptyBucket
 * @property {() => Promise<void>} stop  closes the server and every connection; idempotent
 */

/**
 * Starts fauxqs in this process on 127.0.0.1 and a random port, with the named buckets.
 * Nothing is written to stdout (fastify's logger is off).
 * @param {{ buckets?: string[] }} [opts]
 * @returns {Promise<S3Server>}
 */
export async function startS3({ buckets = [] } = {}) {
  forceLoopbackListen();
  // Our own clients use static credentials, but never let a default chain reach 169.254.169.254.
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  // Loaded lazily: fauxqs pulls in fastify and the SNS/SQS clients, which the callers may never need.
  const { startFauxqs } = await import('fauxqs');
  // logger: false keeps fastify silent. init: '' (not undefined) so a stray FAUXQS_INIT in the
  // environment cannot load someone's queue/bucket setup into the test server.
  const server = await startFauxqs({ port: 0, logger: false, init: '' });
  const port = server.port;
  const endpoint = `http://127.0.0.1:${port}`;
  for (const b of buckets) server.createBucket(b);

  /** @type {S3Client[]} */
  const clients = [];
  const client = () => {
    const c = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      // fauxqs handles the SDK's default CRC32 checksums too; WHEN_REQUIRED keeps setup traffic minimal.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    clients.push(c);
    return c;
  };
  const s3 = client();

  /** @type {Promise<void> | undefined} */
  let stopping;
  return {
    endpoint,
    port,
    client,
    createBucket: (name) => void server.createBucket(name),
    emptyBucket: (name) => server.emptyBucket(name),
    async put(bucket, key, body, opts = {}) {
      const params = { Bucket: bucket, Key: key, Body: body, ContentType: opts.contentType, Metadata: opts.metadata };
      const size = typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : Infinity;
      if (size > PART_SIZE) {
        await new Upload({ client: s3, params, partSize: PART_SIZE, queueSize: 4 }).done();
      } else {
        await s3.send(new PutObjectCommand(params));
      }
    },
    stop() {
      stopping ??= (async () => {
        for (const c of clients) c.destroy(); // closes the clients' keep-alive sockets
        // fauxqs builds fastify with forceCloseConnections: true, so close() also ends idle and
        // in-flight connections and resolves once the listening socket is closed.
        await server.stop();
      })();
      return stopping;
    },
  };
}
