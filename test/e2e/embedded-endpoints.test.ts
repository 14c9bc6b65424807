import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpServer } from '../helpers/http.js';
// @ts-expect-error plain JS test support
import { startAzurite } from '../support/azurite.mjs';
// @ts-expect-error plain JS test support
import { startGcsServer } from '../support/gcs-server.mjs';
// @ts-expect-error plain JS test support
import { azureOp, gcsOp, startProxy } from '../support/s3-proxy.mjs';

const SA = (tokenUri: string) =>
  JSON.stringify({ type: 'service_account', project_id: 'p', client_email: 'svc@p.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n', token_uri: tokenUri });

describe('endpoints hidden inside credentials', () => {
  let az: any;
  let cp: Running;
  let http: HttpServer;
  let dataDir: string;

  beforeAll(async () => {
    az = await startAzurite();
    await az.createContainer('embedded');
    await az.put('embedded', 'a.txt', 'a');
    dataDir = tempDir();
    cp = await startCloudport({ dataDir });
  });
  afterAll(async () => {
    await cp?.close();
    await http?.stop();
    await az?.stop();
  });

  it('shows a connection string BlobEndpoint and a token_uri in get_connector, never the secret parts', async () => {
    const { connector } = await cp.ok('create_connector', { name: 'cs', provider: 'azure_blob', container: 'embedded', credentials: { type: 'connection_string', connection_string: az.connectionString } });
    expect(connector.location).toMatchObject({ container: 'embedded', blob_endpoint: az.endpoint });
    expect(connector.credentials).toEqual({ type: 'connection_string', hint: 'account devstoreaccount1' });
    expect(JSON.stringify(connector)).not.toContain(az.accountKey);
    const g = await cp.ok('create_connector', { name: 'sa', provider: 'gcs', bucket: 'some-bucket', validate: false, credentials: { type: 'service_account', json: SA('https://oauth.example.com/token') } });
    expect(g.connector.location).toMatchObject({ token_uri: 'https://oauth.example.com/token' });
    expect(g.connector.credentials.hint).toBe('svc@p.iam.gserviceaccount.com');
    expect(JSON.stringify(g.connector)).not.toContain('secret-key-material');
  });

  it('shows them, and refuses a location that disagrees, when the credentials are a reference', async () => {
    const ref = await startCloudport({ dataDir: tempDir(), env: { AZ_CS: az.connectionString } });
    try {
      const creds = { type: 'connection_string', connection_string: { env: 'AZ_CS' } };
      const { connector } = await ref.ok('create_connector', { name: 'cs-ref', provider: 'azure_blob', container: 'embedded', credentials: creds });
      expect(connector.location).toMatchObject({ container: 'embedded', blob_endpoint: az.endpoint });
      expect((await ref.ok('get_connector', { connector_id: connector.id })).connector.location).toMatchObject({ blob_endpoint: az.endpoint });
      const r = await ref.call('create_connector', { name: 'cs-ref-2', provider: 'azure_blob', container: 'embedded', endpoint: 'http://127.0.0.1:9/devstoreaccount1', credentials: creds });
      expect(r.isError, r.text).toBe(true);
      expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: 'endpoint' });
      expect(r.text).not.toContain(az.accountKey);
    } finally {
      await ref.close();
    }
  });

  it('applies the endpoint policy to them in HTTP mode', async () => {
    http = await startHttpServer(dataDir, []);
    const c = await connectHttp(http.url, await createKey(dataDir, 'acme'));
    let r = await c.call('create_connector', {
      name: 'x1',
      provider: 'azure_blob',
      container: 'embedded',
      validate: false,
      credentials: { type: 'connection_string', connection_string: `DefaultEndpointsProtocol=http;AccountName=a;AccountKey=${az.accountKey};BlobEndpoint=http://169.254.169.254/a;` },
    });
    expect(r.data.error).toMatchObject({ kind: 'permission_denied', field: 'blob_endpoint' });
    r = await c.call('create_connector', { name: 'x2', provider: 'gcs', bucket: 'some-bucket', validate: false, credentials: { type: 'service_account', json: SA('http://10.0.0.7/token') } });
    expect(r.data.error).toMatchObject({ kind: 'permission_denied', field: 'token_uri' });
    // A Drive oauth client's token endpoint receives its secret and refresh token: the same policy.
    r = await c.call('create_connector', { name: 'x2o', provider: 'google_drive', validate: false, credentials: { type: 'oauth', client_id: 'c', client_secret: 's', refresh_token: 't', token_uri: 'http://127.0.0.1:9/token' } });
    expect(r.data.error).toMatchObject({ kind: 'permission_denied', field: 'token_uri' });
    r = await c.call('create_connector', { name: 'x3', provider: 'azure_blob', container: 'embedded', validate: false, credentials: { type: 'sas', sas_url: 'http://[::1]:10000/a/embedded?sv=2024&sp=rl&sig=abc' } });
    expect(r.data.error).toMatchObject({ kind: 'permission_denied', field: 'blob_endpoint' });
    expect(JSON.stringify(r.data)).not.toContain('sig=abc');
    await c.close();
  });

  it('checks names at connect time for GCS and Azure sockets too (a name resolving to loopback is refused, nothing is sent)', async () => {
    const gcs = await startGcsServer();
    gcs.createBucket('named');
    const gcsProxy = await startProxy({ upstream: gcs.endpoint, classify: gcsOp });
    const azProxy = await startProxy({ upstream: `http://127.0.0.1:${az.port}`, classify: azureOp });
    try {
      const c = await connectHttp(http.url, await createKey(dataDir, 'acme'));
      const g = await c.ok('create_connector', { name: 'g-named', provider: 'gcs', bucket: 'named', endpoint: `http://localhost:${gcsProxy.port}`, validate: false, credentials: { type: 'service_account', json: SA('https://oauth2.googleapis.com/token') } });
      const a = await c.ok('create_connector', { name: 'a-named', provider: 'azure_blob', container: 'embedded', endpoint: `http://localhost:${azProxy.port}/devstoreaccount1`, validate: false, credentials: { type: 'account_key', account_key: az.accountKey } });
      for (const id of [g.connector.id, a.connector.id]) {
        const t = await c.ok('test_connector', { connector_id: id });
        expect(t.success).toBe(false);
        expect(JSON.stringify(t.checks), JSON.stringify(t.checks)).toMatch(/loopback.*endpoint policy/);
      }
      expect(gcsProxy.counts.total).toBe(0);
      expect(azProxy.counts.total).toBe(0);
      await c.close();
    } finally {
      await gcsProxy.stop();
      await azProxy.stop();
      await gcs.stop();
    }
  });

  it('a redirect to a refused literal address is not followed into it (GCS and Azure)', async () => {
    const netMod = await import('node:net');
    let trapped = 0;
    const trap = netMod.createServer((sock) => {
      trapped++;
      sock.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.2', () => r()));
    const trapUrl = `http://127.0.0.2:${(trap.address() as { port: number }).port}/steal`;
    const gcs = await startGcsServer();
    gcs.createBucket('redir');
    const gcsProxy = await startProxy({ upstream: gcs.endpoint, classify: gcsOp });
    const azProxy = await startProxy({ upstream: `http://127.0.0.1:${az.port}`, classify: azureOp });
    const only127 = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
    try {
      const c = await connectHttp(only127.url, await createKey(dataDir, 'acme'));
      const g = await c.ok('create_connector', { name: 'g-redir', provider: 'gcs', bucket: 'redir', endpoint: gcsProxy.endpoint, validate: false, credentials: { type: 'service_account', json: SA('https://oauth2.googleapis.com/token') } });
      const a = await c.ok('create_connector', { name: 'a-redir', provider: 'azure_blob', container: 'embedded', endpoint: `${azProxy.endpoint}/devstoreaccount1`, validate: false, credentials: { type: 'account_key', account_key: az.accountKey } });
      const redirect = { type: 'status', status: 307, body: '', headers: { location: trapUrl, 'content-type': 'text/plain' } };
      gcsProxy.addFault({ match: {}, times: 100, action: redirect });
      azProxy.addFault({ match: {}, times: 100, action: redirect });
      for (const id of [g.connector.id, a.connector.id]) {
        const t = await c.ok('test_connector', { connector_id: id });
        expect(t.success, JSON.stringify(t.checks)).toBe(false);
      }
      expect(trapped).toBe(0);
      await c.close();
    } finally {
      await only127.stop();
      await gcsProxy.stop();
      await azProxy.stop();
      await gcs.stop();
      trap.close();
    }
  });
});
