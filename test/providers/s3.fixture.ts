import type { ProviderFixture } from './fixture.js';
import { PROXY_OPS, proxyParts } from './proxy-parts.js';
import { KEY_ID, SECRET, startS3Env, type S3Env } from '../helpers/s3env.js';

let n = 0;

/** S3 through fauxqs 1.9.2 behind our fault proxy. */
export function s3Fixture(): ProviderFixture {
  let env: S3Env;
  return {
    provider: 's3',
    maxPageSize: 1000,
    // fauxqs pages wrongly across punctuation and cannot carry control characters in XML listings
    // (testing.md): hostile keys here are printable, and the suite lists them within one page.
    hostileKeys: ['../../etc/passwd', 'a/../b.txt', '100%.txt', 'spaces in name .txt', 'bidi\u202egnp.exe', 'cafe\u0301.txt', 'café.txt', 'x/' + 'long'.repeat(200) + '.txt'],
    async start() {
      env = await startS3Env([]);
    },
    stop: () => env.stop(),
    async createBucket() {
      const name = `contract-${process.pid}-${++n}`;
      env.s3.createBucket(name);
      return name;
    },
    missingBucket: () => 'no-such-bucket-here',
    put: (bucket, key, body, contentType) => env.s3.put(bucket, key, body, { contentType }),
    connectorInput: (bucket) => ({ provider: 's3', bucket, endpoint: env.proxy.endpoint, credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET } }),
    badCredentialsInput: (bucket) => ({ provider: 's3', bucket, endpoint: env.proxy.endpoint, credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: 'wrong-secret' } }),
    addFault(rule) {
      const a = rule.action;
      const action =
        a.type === 'throttle'
          ? { type: 'status', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.', headers: a.retryAfterSeconds !== undefined ? { 'retry-after': String(a.retryAfterSeconds) } : {} }
          : a.type === 'server_error'
            ? { type: 'status', status: 500, code: 'InternalError', message: 'We encountered an internal error.' }
            : a.type === 'deny'
              ? { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' }
              : a.type === 'bad_credentials'
                ? { type: 'status', status: 403, code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided.' }
                : a;
      env.proxy.addFault({ match: { op: PROXY_OPS[rule.op], keyIncludes: rule.keyIncludes }, times: rule.times ?? 1, action });
    },
    ...proxyParts(() => env.proxy),
    async withoutPermission(bucket, permission) {
      env.proxy.addFault({ match: { op: permission === 'list' ? 'ListObjects' : 'GetObject' }, times: 1000, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
      return this.connectorInput(bucket);
    },
    permissionName: (p) => (p === 'list' ? 's3:ListBucket' : 's3:GetObject'),
  };
}
