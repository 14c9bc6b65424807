import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { KEY_ID, SECRET } from '../helpers/s3env.js';

/**
 * sts_endpoint is used only by s3 credentials of type assume_role (README: "`sts_endpoint` overrides
 * the STS URL" of STS AssumeRole). Given with credentials of another type it would be stored, shown by
 * get_connector under location and never used, so create_connector refuses that combination as
 * config_invalid on the field sts_endpoint with a fix (leave it out, or use assume_role credentials),
 * as it refuses another provider's fields rather than dropping them silently.
 */

let cp: Running;

beforeAll(async () => {
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data') });
});
afterAll(async () => {
  await cp?.close();
});

describe('sts_endpoint with credentials that do not assume a role', () => {
  it('is refused with access_key credentials', async () => {
    const r = await cp.call('create_connector', {
      name: 'sts-with-keys',
      provider: 's3',
      bucket: 'media',
      endpoint: 'http://127.0.0.1:1',
      sts_endpoint: 'http://127.0.0.1:2',
      credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET },
      validate: false,
    });
    expect(r.isError, r.text).toBe(true);
    expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: 'sts_endpoint' });
  });
});
