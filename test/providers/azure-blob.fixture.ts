import { ContainerSASPermissions, generateBlobSASQueryParameters } from '@azure/storage-blob';
import type { ProviderFixture } from './fixture.js';
import { PROXY_OPS, proxyParts } from './proxy-parts.js';
// @ts-expect-error plain JS test support
import { startAzurite } from '../support/azurite.mjs';
// @ts-expect-error plain JS test support
import { startProxy, azureOp } from '../support/s3-proxy.mjs';

const azureError = (code: string, message: string) => `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
let n = 0;

/**
 * Azure Blob through azurite 3.37.0 behind the fault proxy. Shared-key and SAS signatures cover the
 * account, container and blob path but not the host, so credentials made for azurite's own address
 * work through the proxy's (azure-blob.test.ts shows it for a SAS URL). A connection string must
 * name the proxy as its BlobEndpoint (or the connector give the proxy as endpoint) for its requests
 * to pass through the proxy.
 */
export function azureFixture(): ProviderFixture {
  let az: any;
  let proxy: any;
  const endpoint = () => `${proxy.endpoint}/${az.accountName}`;
  return {
    provider: 'azure_blob',
    maxPageSize: 5000,
    // Left out, by rule: "." and ".." path segments are resolved by URL parsing before any request
    // is sent (a/../b.txt is stored as b.txt; ../x leaves the container: 400 InvalidResourceName),
    // and a backslash becomes "/" the same way; azurite answers 500 to listings of names holding ESC (0x1b)
    // or NUL (testing.md) and lists CR as "&#xD;". Dots inside segments, tabs, bidi controls, non-NFC
    // forms, "%", "?", "#", spaces and long names are stored and listed byte-exact.
    hostileKeys: ['..a/b..c/..txt', '.../x', '100%.txt', '%2F%00.txt', 'q?x#y&z=1.txt', 'spaces in name .txt', 'tab\tname.txt', 'bidi\u202egnp.exe', 'cafe\u0301.txt', 'café.txt', 'x/' + 'long'.repeat(200) + '.txt'],
    async start() {
      az = await startAzurite();
      proxy = await startProxy({ upstream: `http://127.0.0.1:${az.port}`, classify: azureOp });
    },
    async stop() {
      await proxy.stop();
      await az.stop();
    },
    async createBucket() {
      const name = `contract-${process.pid}-${++n}`;
      await az.createContainer(name);
      return name;
    },
    missingBucket: () => 'no-such-container',
    put: (bucket, key, body, contentType) => az.put(bucket, key, body, contentType),
    connectorInput: (bucket) => ({ provider: 'azure_blob', container: bucket, endpoint: endpoint(), credentials: { type: 'account_key', account_key: az.accountKey } }),
    badCredentialsInput: (bucket) => ({
      provider: 'azure_blob',
      container: bucket,
      endpoint: endpoint(),
      credentials: { type: 'account_key', account_key: Buffer.from('not-the-account-key-at-all-0123456789').toString('base64') },
    }),
    addFault(rule) {
      const a = rule.action;
      const status = (code: number, errorCode: string, message: string, headers: Record<string, string> = {}) => ({
        type: 'status',
        status: code,
        body: azureError(errorCode, message),
        headers: { 'content-type': 'application/xml', 'x-ms-error-code': errorCode, ...headers },
      });
      const action =
        a.type === 'throttle'
          ? status(503, 'ServerBusy', 'The server is busy.', a.retryAfterSeconds !== undefined ? { 'retry-after': String(a.retryAfterSeconds) } : {})
          : a.type === 'server_error'
            ? status(500, 'InternalError', 'The server encountered an internal error.')
            : a.type === 'deny'
              ? status(403, 'AuthorizationPermissionMismatch', 'This request is not authorized to perform this operation using this permission.')
              : a.type === 'bad_credentials'
                ? status(403, 'AuthenticationFailed', 'Server failed to authenticate the request.')
                : a;
      proxy.addFault({ match: { op: PROXY_OPS[rule.op], keyIncludes: rule.keyIncludes }, times: rule.times ?? 1, action });
    },
    ...proxyParts(() => proxy),
    async withoutPermission(bucket, permission) {
      // A container SAS that lacks the right, as a user would hand one out.
      const rights = permission === 'list' ? 'r' : 'l';
      const token = generateBlobSASQueryParameters(
        { containerName: bucket, permissions: ContainerSASPermissions.parse(rights), expiresOn: new Date(Date.now() + 3600_000) },
        az.credential,
      ).toString();
      return { provider: 'azure_blob', container: bucket, endpoint: endpoint(), credentials: { type: 'sas', sas_token: token } };
    },
    permissionName: (p) => (p === 'list' ? 'list right' : 'read right'),
  };
}
