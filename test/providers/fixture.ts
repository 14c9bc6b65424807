/**
 * What the provider contract suite needs from each provider's loopback setup. One fixture per
 * provider (test/providers/<name>.fixture.ts); the same cases run against every one of them.
 * All traffic stays on 127.0.0.1.
 */
export interface FaultRule {
  /** Which requests: an operation and optionally a substring of the (decoded) object key. */
  op: 'list' | 'get' | 'head' | 'put' | 'delete' | 'any';
  keyIncludes?: string;
  /** How many matching requests it applies to (default 1). */
  times?: number;
  action:
    | { type: 'throttle'; retryAfterSeconds?: number } // the provider's own 429/503 "slow down" answer
    | { type: 'server_error' } // a 500
    | { type: 'deny' } // the provider's 403 "permission denied" answer for this operation
    | { type: 'bad_credentials' } // the provider's answer to a wrong key / signature
    | { type: 'cut'; afterBytes: number } // response headers sent, body cut after N bytes
    | { type: 'stall'; afterBytes: number; ms: number }
    | { type: 'flip'; at: number } // the body with its length kept but one byte (at this offset of the response body) flipped
    | { type: 'before'; run: () => unknown }; // awaits run() (e.g. an overwrite in the bucket), then forwards unchanged
}

export interface ProviderFixture {
  /** The provider name as create_connector takes it. */
  provider: 's3' | 'gcs' | 'azure_blob' | 'google_drive';
  /** Starts the loopback server(s) and the fault proxy. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Creates an empty bucket (or container) with a fresh unique name and returns that name. */
  createBucket(): Promise<string>;
  /** A bucket name that does not exist. */
  missingBucket(): string;
  put(bucket: string, key: string, body: Buffer | string, contentType?: string): Promise<void>;
  /**
   * create_connector fields (everything but name) that reach `bucket` through the fault proxy,
   * e.g. {provider, bucket, endpoint, credentials} or {provider, container, endpoint, credentials}.
   */
  connectorInput(bucket: string): Record<string, unknown>;
  /** The same but with a wrong secret, as the real service would see it. */
  badCredentialsInput(bucket: string): Record<string, unknown>;
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  /** Requests seen by the proxy since the last reset, by operation. `get` counts object-content reads only. */
  counts(): { list: number; get: number; head: number; put: number; delete: number; total: number };
  resetCounts(): void;
  /** Keys with hostile characters that this provider can store and list back (say which rule excludes what). */
  hostileKeys: string[];
  /** Largest page the provider's list call returns (used to force multi-page listings). */
  maxPageSize: number;
  /**
   * Makes `bucket` refuse one permission to the credentials of the returned connector input, the
   * way the service would (S3: AccessDenied answers, GCS: IAM without the permission, Azure: a SAS
   * without that right).
   */
  withoutPermission(bucket: string, permission: 'list' | 'read'): Promise<Record<string, unknown>>;
  /** Words the failed check's fix must contain for that permission (e.g. "s3:ListBucket"). */
  permissionName(permission: 'list' | 'read'): string;
}
