import type { ProviderFixture } from './fixture.js';
import { PROXY_OPS, proxyParts } from './proxy-parts.js';
// @ts-expect-error plain JS test support
import { startGcsServer } from '../support/gcs-server.mjs';
// @ts-expect-error plain JS test support
import { startProxy, gcsOp } from '../support/s3-proxy.mjs';

const SA = JSON.stringify({
  type: 'service_account',
  project_id: 'contract-test',
  private_key_id: 'k1',
  // A syntactically valid key is not needed: with an http apiEndpoint the client sends no auth.
  private_key: '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n',
  client_email: 'importer@contract-test.iam.gserviceaccount.com',
  client_id: '1',
});
const gcsError = (code: number, reason: string, message: string) => JSON.stringify({ error: { code, message, errors: [{ reason, message, domain: 'global' }] } });
let n = 0;

/** GCS through our loopback JSON-API server behind the fault proxy, driven by the real client. */
export function gcsFixture(): ProviderFixture {
  let gcs: any;
  let proxy: any;
  return {
    provider: 'gcs',
    maxPageSize: 1000,
    // GCS forbids CR and LF in object names; everything else here is allowed, ESC included.
    hostileKeys: ['../../etc/passwd', 'a/../b.txt', '100%.txt', '%2F%00.txt', 'spaces in name .txt', 'tab\tname.txt', 'esc\u001b[31mred.txt', 'bidi\u202egnp.exe', 'cafe\u0301.txt', 'café.txt', 'x/' + 'long'.repeat(200) + '.txt'],
    async start() {
      gcs = await startGcsServer();
      proxy = await startProxy({ upstream: gcs.endpoint, classify: gcsOp });
    },
    async stop() {
      await proxy.stop();
      await gcs.stop();
    },
    async createBucket() {
      const name = `contract-${process.pid}-${++n}`;
      gcs.createBucket(name);
      return name;
    },
    missingBucket: () => 'no-such-bucket-here',
    put: (bucket, key, body, contentType) => gcs.put(bucket, key, body, contentType),
    connectorInput: (bucket) => ({ provider: 'gcs', bucket, endpoint: proxy.endpoint, project_id: 'contract-test', credentials: { type: 'service_account', json: SA } }),
    badCredentialsInput: (bucket) => ({ provider: 'gcs', bucket, endpoint: proxy.endpoint, project_id: 'contract-test', credentials: { type: 'service_account', json: SA.replace('importer@', 'revoked@') } }),
    addFault(rule) {
      const a = rule.action;
      const status = (code: number, reason: string, message: string, headers: Record<string, string> = {}) => ({ type: 'status', status: code, body: gcsError(code, reason, message), headers });
      const action =
        a.type === 'throttle'
          ? status(429, 'rateLimitExceeded', 'The rate of change requests to the object is too high.', a.retryAfterSeconds !== undefined ? { 'retry-after': String(a.retryAfterSeconds) } : {})
          : a.type === 'server_error'
            ? status(500, 'backendError', 'Backend Error')
            : a.type === 'deny'
              ? status(403, 'forbidden', 'caller does not have storage.objects.get access to the Google Cloud Storage object.')
              : a.type === 'bad_credentials'
                ? status(401, 'authError', 'Invalid Credentials')
                : a;
      proxy.addFault({ match: { op: PROXY_OPS[rule.op], keyIncludes: rule.keyIncludes }, times: rule.times ?? 1, action });
    },
    ...proxyParts(() => proxy),
    async withoutPermission(bucket, permission) {
      const all = ['storage.objects.list', 'storage.objects.get', 'storage.objects.create', 'storage.objects.delete', 'storage.buckets.get'];
      gcs.setPermissions(bucket, all.filter((p) => p !== (permission === 'list' ? 'storage.objects.list' : 'storage.objects.get')));
      return this.connectorInput(bucket);
    },
    permissionName: (p) => (p === 'list' ? 'storage.objects.list' : 'storage.objects.get'),
  } as ProviderFixture;
}
