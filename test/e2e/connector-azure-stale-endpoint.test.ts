import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
// @ts-expect-error plain JS test support
import { startAzurite } from '../support/azurite.mjs';

/**
 * get_connector shows under `location` the endpoints hidden in the connector's credentials (README:
 * "a connection string's BlobEndpoint … shown by get_connector under location"). When update_connector
 * replaces a connection string by an account key, the connection string's blob_endpoint is no longer
 * part of the connector and is no longer shown (it was left behind in the stored location).
 */

let az: any;
let cp: Running;

beforeAll(async () => {
  az = await startAzurite();
  await az.createContainer('stale-cont');
  await az.put('stale-cont', 'a.txt', 'a');
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data') });
}, 90_000);
afterAll(async () => {
  await cp?.close();
  await az?.stop();
});

describe('azure credentials replaced', () => {
  it('drops the connection string blob_endpoint from location once the credentials are an account key', async () => {
    const c = (
      await cp.ok('create_connector', { name: 'az-cs', provider: 'azure_blob', container: 'stale-cont', endpoint: az.endpoint, credentials: { type: 'connection_string', connection_string: az.connectionString } })
    ).connector;
    expect(c.location.blob_endpoint).toBeTruthy();
    const u = (await cp.ok('update_connector', { connector_id: c.id, credentials: { type: 'account_key', account_key: az.accountKey } })).connector;
    expect(u.credentials.type).toBe('account_key');
    const g = (await cp.ok('get_connector', { connector_id: c.id })).connector;
    expect(g.location?.blob_endpoint).toBeUndefined();
  });
});
