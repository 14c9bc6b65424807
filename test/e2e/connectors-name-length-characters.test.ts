import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { KEY_ID, SECRET } from '../helpers/s3env.js';

/**
 * A connector name is 1-100 characters, as the schema and the error say. Characters are what a user
 * counts (code points): a name of 60 characters outside the Basic Multilingual Plane (emoji, CJK
 * extension B) is a 60-character name and is accepted, by create_connector and update_connector alike;
 * it is not refused with "name must be 1-100 characters" because it takes 120 UTF-16 code units.
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

describe('connector name length', () => {
  it('accepts a 60-character name of astral characters', async () => {
    const name = '\u{1F4E6}'.repeat(30) + '\u{20000}'.repeat(30);
    expect([...name].length).toBe(60);
    const r = await cp.call('create_connector', s3(name));
    expect(r.isError, r.text).toBe(false);
    expect(r.data.connector.name).toBe(name);
  });

  it('accepts it as a new name in update_connector', async () => {
    const c = (await cp.ok('create_connector', s3('plain-name'))).connector;
    const name = '\u{1F600}'.repeat(55);
    const r = await cp.call('update_connector', { connector_id: c.id, name });
    expect(r.isError, r.text).toBe(false);
  });
});
