// The ceiling: the raw @aws-sdk/client-s3 GET loop, all objects at once, bytes discarded (no hashing).
import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
process.removeAllListeners('warning');
const [endpoint, bucket, ...keys] = process.argv.slice(2);
const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, responseChecksumValidation: 'WHEN_REQUIRED' });
let bytes = 0;
await Promise.all(
  keys.map(async (Key) => {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
    for await (const chunk of r.Body) bytes += chunk.length;
  }),
);
process.stdout.write(String(bytes));
s3.destroy();
