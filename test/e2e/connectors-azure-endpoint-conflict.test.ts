import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';

/**
 * An azure_blob connector takes its account endpoint from `endpoint` or from the credentials (a
 * connection string's BlobEndpoint). When both are given and name different endpoints, only one can be
 * used, so create_connector refuses the combination as config_invalid (field endpoint or
 * credentials.connection_string, with a fix: give one, or make them agree), as it already does for an
 * account_name that disagrees with the endpoint. It never saves a connector whose get_connector shows a
 * location.blob_endpoint that its requests do not go to.
 */

let cp: Running;

beforeAll(async () => {
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data') });
});
afterAll(async () => {
  await cp?.close();
});

const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

describe('azure_blob endpoint vs connection string BlobEndpoint', () => {
  it('refuses an endpoint that disagrees with the connection string', async () => {
    const r = await cp.call('create_connector', {
      name: 'az-conflict',
      provider: 'azure_blob',
      container: 'media',
      endpoint: 'http://127.0.0.1:10000/devstoreaccount1',
      credentials: {
        type: 'connection_string',
        connection_string: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:10009/devstoreaccount1;`,
      },
      validate: false,
    });
    expect(r.isError, r.text).toBe(true);
    expect(r.data.error.kind).toBe('config_invalid');
    expect(['endpoint', 'credentials.connection_string']).toContain(r.data.error.field);
  });
});
