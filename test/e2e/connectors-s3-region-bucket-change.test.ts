import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * An s3 connector created without region has its bucket's region detected and stored (README:
 * "Without region, the bucket's region is detected when the connector is created and stored"). When
 * update_connector points it at another bucket without giving a region, the region is detected again
 * for the new bucket: the connector never keeps (and signs with) the region of a bucket it no longer
 * uses. A region the caller gives with the update is kept as given.
 */

let env: S3Env;
let cp: Running;

beforeAll(async () => {
  env = await startS3Env(['paris-bucket', 'oregon-bucket']);
  await env.s3.put('paris-bucket', 'a.txt', 'a');
  await env.s3.put('oregon-bucket', 'b.txt', 'b');
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data') });
}, 60_000);
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

/** The bucket answers HeadBucket as AWS does for a bucket in another region: 301 with x-amz-bucket-region. */
function bucketRegion(bucket: string, region: string) {
  env.proxy.addFault({
    match: { op: 'HeadBucket', keyIncludes: undefined },
    times: Infinity,
    action: { type: 'status', status: 301, code: 'PermanentRedirect', message: `bucket ${bucket} is in ${region}`, headers: { 'x-amz-bucket-region': region } },
  });
}

describe('s3 region after a bucket change', () => {
  it('detects the new bucket region instead of keeping the old one', async () => {
    bucketRegion('paris-bucket', 'eu-west-3');
    const c = (await cp.ok('create_connector', env.connector('paris-bucket'))).connector;
    expect(c.region).toBe('eu-west-3');
    env.proxy.clearFaults();

    bucketRegion('oregon-bucket', 'us-west-2');
    const u = (await cp.ok('update_connector', { connector_id: c.id, bucket: 'oregon-bucket' })).connector;
    env.proxy.clearFaults();
    expect(u.bucket).toBe('oregon-bucket');
    expect(u.region).toBe('us-west-2');
  });
});
