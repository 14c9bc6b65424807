import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { KEY_ID, SECRET } from '../helpers/s3env.js';

/**
 * Connector names are unique in an organization so that a name picks one connector. Names that read
 * the same are the same name: "café" typed precomposed (NFC, U+00E9) or decomposed (NFD, e + U+0301)
 * is one name, so the second create_connector answers conflict on the field name (names are compared,
 * and stored, in one normalization form). Likewise a name that differs only by an invisible zero-width
 * character is refused or taken as the same name.
 */

let cp: Running;

beforeAll(async () => {
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data') });
});
afterAll(async () => {
  await cp?.close();
});

const s3 = (name: string) => ({
  name,
  provider: 's3',
  bucket: 'media',
  endpoint: 'http://127.0.0.1:1',
  credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET },
  validate: false,
});

describe('connector names that read the same', () => {
  it('treats NFC and NFD spellings as one name', async () => {
    await cp.ok('create_connector', s3('caf\u00e9'));
    const r = await cp.call('create_connector', s3('cafe\u0301'));
    expect(r.isError, r.text).toBe(true);
    expect(r.data.error).toMatchObject({ kind: 'conflict', field: 'name' });
  });

  it('does not take a zero-width character as a different name', async () => {
    await cp.ok('create_connector', s3('reports'));
    const r = await cp.call('create_connector', s3('reports\u200b'));
    expect(r.isError, r.text).toBe(true);
    expect(r.data.error.field).toBe('name');
  });
});
