import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';

/**
 * create_connector checks a gcs bucket name against Google's naming rules before anything is saved
 * (https://cloud.google.com/storage/docs/buckets#naming): 3-63 characters, up to 222 only when the name
 * has dots and then each dot-separated part at most 63; not an IP address in dotted-decimal form; not
 * starting with "goog" and not containing "google". A name no GCS bucket can have is refused as
 * config_invalid on the field bucket with a fix, also with validate: false (nothing is contacted then,
 * so nothing else would catch it), instead of being saved or reported as "bucket does not exist".
 */

let cp: Running;

beforeAll(async () => {
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data') });
});
afterAll(async () => {
  await cp?.close();
});

const gcs = (name: string, bucket: string) => ({
  name,
  provider: 'gcs',
  bucket,
  endpoint: 'http://127.0.0.1:1',
  credentials: { type: 'default' },
  validate: false,
});

describe('gcs bucket names', () => {
  const impossible: [string, string][] = [
    ['64 characters without dots', 'a'.repeat(64)],
    ['a dot-separated part longer than 63', `${'b'.repeat(64)}.example`],
    ['an IP address', '192.168.5.4'],
    ['starting with goog', 'goog-data'],
    ['containing google', 'my-google-data'],
  ];
  for (const [what, bucket] of impossible) {
    it(`refuses a bucket name ${what}`, async () => {
      const r = await cp.call('create_connector', gcs(`gcs-${what.replace(/\W+/g, '-')}`, bucket));
      expect(r.isError, r.text).toBe(true);
      expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: 'bucket' });
      expect(r.data.error.fix).toBeTruthy();
    });
  }

  it('still accepts a valid dotted name of more than 63 characters', async () => {
    const r = await cp.call('create_connector', gcs('gcs-long-dotted', `${'c'.repeat(60)}.${'d'.repeat(20)}`));
    expect(r.isError, r.text).toBe(false);
  });
});
