import type { FaultRule, ProviderFixture } from './fixture.js';
import { PROXY_OPS, googleErrorBody, googleFault, proxyParts } from './proxy-parts.js';
// @ts-expect-error plain JS test support
import { startGcsServer } from '../support/gcs-server.mjs';
// @ts-expect-error plain JS test support
import { startProxy, gcsOp } from '../support/s3-proxy.mjs';

/**
 * A service account key as the connector takes it. With an http endpoint the client sends no
 * credentials at all (see sendsCredentials in src/providers/gcs/provider.ts), so the private key
 * is never used to sign anything and need not be a real key.
 */
export const FIXTURE_SA = JSON.stringify({
  type: 'service_account',
  project_id: 'contract-test',
  private_key_id: 'k1',
  private_key: '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n',
  client_email: 'importer@contract-test.iam.gserviceaccount.com',
  client_id: '1',
  token_uri: 'https://oauth2.googleapis.com/token',
});

/** A GCS error answer as the JSON API sends it. */
export const gcsError = googleErrorBody;

/** The fault proxy's answer for each fixture fault, the way GCS answers it. */
const gcsFault = (a: FaultRule['action']) =>
  googleFault(a, {
    throttle: 'The rate of change requests to the object is too high. Please slow down.',
    deny: ['forbidden', 'importer@contract-test.iam.gserviceaccount.com does not have storage.objects.get access to the Google Cloud Storage object.'],
    badCredentials: 'Invalid Credentials',
  });

export interface GcsFixture extends ProviderFixture {
  /** The loopback GCS server (see test/support/gcs-server.mjs for its API). */
  server(): any;
  /** The fault proxy in front of it (see test/support/s3-proxy.mjs). */
  proxy(): any;
}

let n = 0;

/**
 * GCS through our loopback JSON-API server behind the fault proxy, driven by the real client.
 *
 * Bad credentials: over an http endpoint the client sends no Authorization header, so no server
 * can tell a revoked key from a good one. `badCredentialsInput` therefore names a different
 * (revoked) service account, and the 401 that GCS would send for it comes from the fault proxy:
 * callers add `{op: 'any', action: {type: 'bad_credentials'}}` (a 401 `authError` JSON answer with
 * `WWW-Authenticate`, as GCS sends it). The server itself answers 401 to a bearer token holding
 * REVOKED_TOKEN_MARKER, which test/providers/gcs.test.ts exercises over TLS with a real token.
 */
export function gcsFixture(): GcsFixture {
  let gcs: any;
  let proxy: any;
  return {
    provider: 'gcs',
    maxPageSize: 1000,
    // GCS object names: 1-1024 bytes of UTF-8 without CR or LF; everything else here is allowed
    // (ESC, TAB, bidi overrides, "%", "../" segments, both Unicode normal forms as distinct names).
    hostileKeys: [
      '../../etc/passwd',
      'a/../b.txt',
      './x/./y.txt',
      '100%.txt',
      '%2F%00.txt',
      'spaces in name .txt',
      ' leading-space.txt',
      'tab\tname.txt',
      'esc\u001b[31mred.txt',
      'bidi\u202egnp.exe',
      'cafe\u0301.txt',
      'café.txt',
      'quote"and\'apos?#&=+.txt',
      'dir//double-slash.txt',
      '日本語/ファイル.txt',
      'emoji-\u{1F600}.txt',
      'x/' + 'long'.repeat(200) + '.txt',
      'utf8-long/' + 'é'.repeat(500) + '.txt', // 1014 bytes of UTF-8 (the limit is 1024)
    ],
    async start() {
      gcs = await startGcsServer();
      proxy = await startProxy({ upstream: gcs.endpoint, classify: gcsOp });
    },
    async stop() {
      await proxy?.stop();
      await gcs?.stop();
    },
    async createBucket() {
      const name = `contract-${process.pid}-${++n}`;
      gcs.createBucket(name);
      return name;
    },
    missingBucket: () => 'no-such-bucket-here',
    put: (bucket, key, body, contentType) => gcs.put(bucket, key, body, contentType),
    connectorInput: (bucket) => ({ provider: 'gcs', bucket, endpoint: proxy.endpoint, project_id: 'contract-test', credentials: { type: 'service_account', json: FIXTURE_SA } }),
    badCredentialsInput: (bucket) => ({
      provider: 'gcs',
      bucket,
      endpoint: proxy.endpoint,
      project_id: 'contract-test',
      credentials: { type: 'service_account', json: FIXTURE_SA.replace('importer@', 'revoked@') },
    }),
    addFault(rule) {
      proxy.addFault({ match: { op: PROXY_OPS[rule.op], keyIncludes: rule.keyIncludes }, times: rule.times ?? 1, action: gcsFault(rule.action) });
    },
    ...proxyParts(() => proxy),
    async withoutPermission(bucket, permission) {
      const all = ['storage.objects.list', 'storage.objects.get', 'storage.objects.create', 'storage.objects.delete', 'storage.buckets.get'];
      gcs.setPermissions(bucket, all.filter((p) => p !== (permission === 'list' ? 'storage.objects.list' : 'storage.objects.get')));
      return this.connectorInput(bucket);
    },
    permissionName: (p) => (p === 'list' ? 'storage.objects.list' : 'storage.objects.get'),
    server: () => gcs,
    proxy: () => proxy,
  };
}
