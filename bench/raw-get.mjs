// The ceiling: the raw @aws-sdk/client-s3 GET loop, all objects at once, bytes discarded (no hashing).
// With `--out DIR` each body is written to a file in DIR instead (no hashing): what the disk adds.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
process.removeAllListeners('warning');
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? args.splice(outAt, 2)[1] : null;
const [endpoint, bucket, ...keys] = args;
const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, responseChecksumValidation: 'WHEN_REQUIRED' });
let bytes = 0;
await Promise.all(
  keys.map(async (Key) => {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
    if (out) {
      await pipeline(r.Body, fs.createWriteStream(path.join(out, path.basename(Key))));
      bytes += r.ContentLength ?? 0;
    } else for await (const chunk of r.Body) bytes += chunk.length;
  }),
);
process.stdout.write(String(bytes));
s3.destroy();
