import type { Readable } from 'node:stream';
import type { z } from 'zod';

/**
 * The one interface every storage backend implements (one folder per backend under providers/).
 * Callers ask `capabilities`, never the provider's name.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  last_modified: string | null;
  etag: string | null;
  /** The provider's change marker (S3: etag+size, GCS: generation, Azure: etag). */
  version: string;
  storage_class?: string;
  /** Hex SHA-256 kept in the object's metadata (`sha256`) by an export (stat() reads it; GCS listings carry it too). */
  sha256?: string;
  /**
   * The object is converted when read (a Google Docs file exported as DOCX): this is the format it
   * arrives in. Its size is unknown until then (0 here), it has no checksum, and `version` is its
   * modification time.
   */
  exported?: string;
}

export interface ListRequest {
  prefix: string;
  delimiter?: string;
  /** Opaque continuation token from a previous page; null or undefined for the first page. */
  token?: string | null;
  maxKeys?: number;
  signal?: AbortSignal;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Common prefixes (full, ending in the delimiter) when a delimiter was given. */
  folders: string[];
  nextToken: string | null;
}

export interface ReadRequest {
  /** Start reading at this byte (a Range request). */
  offset?: number;
  /** Fail unless the object still has this version marker, so a resumed read never mixes two versions. */
  ifVersion?: string;
  signal?: AbortSignal;
}

export interface ReadResult {
  body: Readable;
  /** Bytes this response will deliver. */
  length: number;
  /** The object's whole size. */
  size: number;
  content_type?: string;
  version: string;
  etag: string | null;
  /**
   * Checksums of the whole object (not of this response's range), when the provider reports them:
   * downloads verify every byte against them (S3: a single-part ETag's MD5; GCS: md5Hash / crc32c;
   * Azure: Content-MD5).
   */
  checksums?: ObjectChecksums;
}

/** Checksums of a whole object, base64 (MD5: the 16 bytes; CRC32C: the 4 bytes big-endian). */
export interface ObjectChecksums {
  md5?: string;
  crc32c?: string;
}

export interface WriteOptions {
  contentType?: string;
  /** Bytes in a Readable body (required for streams). */
  size?: number;
  /** Hex SHA-256 of the body: stored as object metadata `sha256` (and as S3's x-amz-checksum-sha256 on a single PUT). */
  sha256?: string;
  /** Base64 MD5 of the whole body: a checksum the service verifies before it keeps the object (GCS md5Hash, Azure Content-MD5). */
  md5?: string;
  /** Create only: fail with an ObjectExistsError (kind `conflict`) when the object already exists, and with no other error for it. */
  ifAbsent?: boolean;
  signal?: AbortSignal;
}

export type CheckName = 'auth' | 'list' | 'read' | 'write';
export type CheckStatus = 'passed' | 'failed' | 'skipped';
export interface Check {
  name: CheckName;
  status: CheckStatus;
  detail?: string;
  fix?: string;
  /** The error kind behind a failed check (internal: decides the error kind of a failed validation). */
  kind?: import('../shared/errors.js').ErrorKind;
  /** The input field the failure points at (internal: the `field` of a failed validation), e.g. credentials.secret_access_key, bucket, endpoint. */
  field?: string;
  /** The failure may pass later without a change (internal: an unreachable endpoint, throttling). */
  temporary?: boolean;
  /** A passed check the caller should hear of all the same (Drive: the service account's My Drive is empty), with what to do. */
  warning?: string;
}

export interface CheckOptions {
  /** Run the write check (export scope) unless the server is read-only. */
  write: boolean;
  writeSkippedReason?: string;
  exportBasePath: string;
  signal?: AbortSignal;
}

export interface ProviderCapabilities {
  /** list() honours a delimiter and returns folders. */
  delimiter: boolean;
  /** read() honours offset (ranged reads), used to resume cut downloads. */
  rangedRead: boolean;
  /** write() and delete() exist (export scope). */
  write: boolean;
  /** Most keys one list() call returns. */
  maxPageSize: number;
  /**
   * An object's etag changes whenever its content does (S3, GCS, Azure), so a read answering the listed
   * etag with another size was cut or altered on the way. Drive's "etag" is the file's id.
   */
  contentEtag: boolean;
  /**
   * read() resolves when the service's answer begins (its headers), so a read with no answer within the
   * idle timeout can be given up and tried again (S3, GCS, Azure). Drive's may first page a folder or
   * gather a whole export, and has no such limit.
   */
  readAnswersAtHeaders: boolean;
  /**
   * read() enforces the idle timeout itself: a read whose answer does not begin, or whose body sends no
   * byte while it is being read, within the idle timeout the provider was opened with fails as a
   * temporary error (S3: undici's head and body timeouts on the fast path, the SDK's socket timeout
   * otherwise). The download then keeps no timers of its own per read. GCS's bodies are a PassThrough
   * that has been seen to stop with nothing buffered on either side, so the download watches them.
   */
  readTimesOut: boolean;
}

export interface StorageProvider {
  readonly capabilities: ProviderCapabilities;
  list(req: ListRequest): Promise<ListPage>;
  /**
   * The object's info, its `key` as list() names it: a provider that also takes another spelling of a
   * key (google_drive takes a name unescaped) answers the listed one, so an import stores one key per object.
   */
  stat(key: string, signal?: AbortSignal): Promise<ObjectInfo>;
  read(key: string, req?: ReadRequest): Promise<ReadResult>;
  write(key: string, body: Buffer | Readable, opts?: WriteOptions): Promise<void>;
  delete(key: string): Promise<void>;
  /** The permission checks behind test_connector, in order: auth, list, read, write. */
  check(opts: CheckOptions): Promise<Check[]>;
  /**
   * A change feed (Drive's changes API), for scheduled imports that should read only when something
   * changed: with no token it answers a start token (changed: null, unknown); with a token, whether
   * anything under the connector's root changed since (true when it cannot tell) and the next token.
   */
  changes?(token: string | null, signal?: AbortSignal): Promise<{ token: string; changed: boolean | null }>;
  /** Where the provider can tell a bucket's region itself: used when a connector gives none. */
  detectRegion?(): Promise<string | null>;
  /** Why the whole location may list nothing, where the provider can say more than "no objects" (Drive). */
  emptyHint?(): string;
  close(): void;
}

/**
 * Connector settings a provider reads (non-secret). Keys named `endpoint`, `*_endpoint` or `*_uri`
 * hold URLs the provider will contact (also ones found inside credentials): the endpoint policy checks them.
 */
export interface LocationConfig {
  bucket: string;
  region: string | null;
  endpoint: string | null;
  [extra: string]: unknown;
}

/** Credentials after secret references were resolved (plain values, nested objects for base credentials); never stored or returned. */
export type ResolvedCredentials = { type: string } & Record<string, any>;

export interface ProviderContext {
  /** Sockets per connector client (at least the download concurrency). */
  maxSockets: number;
  /** Abort a connect attempt after this long. */
  connectTimeoutMs: number;
  /**
   * Fail a request whose response head, or whose next body bytes, do not come within this long (the
   * server's idle timeout, CLOUDPORT_IDLE_TIMEOUT_MS); providers without their own setting ignore it.
   */
  idleTimeoutMs?: number;
  /**
   * DNS lookup for every socket the provider opens (its HTTP agents must use it): it enforces the
   * endpoint policy on resolved addresses at connect time. Providers must not follow redirects.
   */
  lookup?: import('node:net').LookupFunction;
  /**
   * Agents that enforce the endpoint policy on names (at resolution) and on literal addresses (at
   * connect, so redirects cannot reach a refused address). When given, providers must use them.
   */
  agents?: { http: import('node:http').Agent; https: import('node:https').Agent };
  /** Keeps secrets the provider obtains later (temporary credentials) redacted while it is open. */
  holdSecrets?: (...values: (string | undefined)[]) => void;
}

export interface ProviderDefinition {
  name: string;
  /** Connector input fields that say where the data is (bucket, region, endpoint, container, …). */
  locationFields: Record<string, z.ZodType>;
  /** One zod object per credential type, each with `type: z.literal(...)`; secret fields use `secretValue`. */
  credentialSchemas: readonly z.ZodObject[];
  /** Credential types this provider accepts, e.g. ["access_key"]. */
  credentialTypes: readonly string[];
  /**
   * Builds the stored location from the connector input (only this provider's fields are read;
   * `endpoint` arrives already checked as a URL). Throws config_invalid naming the field.
   * `bucket` holds the bucket or container name.
   */
  validateLocation(input: Record<string, unknown>): LocationConfig;
  /**
   * Endpoints hidden inside credentials (a service account's token_uri, a connection string's
   * BlobEndpoint, a SAS URL's host), as location keys: shown by get_connector and checked by the
   * endpoint policy like `endpoint`. Given resolved or literal credentials; never returns secrets.
   */
  credentialEndpoints?(creds: Record<string, unknown>): Record<string, string>;
  /** The location keys credentialEndpoints may set: dropped before new credentials set them again. */
  credentialEndpointKeys?: readonly string[];
  /** Refuses a location that these credentials contradict or never use (after credentialEndpoints merged theirs). */
  checkLocationWith?(loc: LocationConfig, creds: Record<string, unknown>): void;
  /** True when these credentials use the server host's own identity (default chains, roles without base keys). */
  usesAmbientIdentity?(creds: Record<string, unknown>): boolean;
  /** Semantic checks of credentials beyond their schema (e.g. an ARN's form); throws config_invalid naming the field. */
  validateCredentials?(creds: Record<string, unknown>): void;
  /** A short non-secret hint that identifies the credentials (e.g. the key id's last 4 characters). */
  credentialHint(creds: Record<string, unknown>): string | undefined;
  /**
   * The one spelling of a path's object where the provider reads several spellings as one (Drive:
   * "50% off.txt" and "50%25 off.txt" name one file); absent where every path is an object of its own.
   * Exports refuse the second of two items whose paths are one object.
   */
  samePath?(path: string): string;
  /**
   * The user-consent flow of providers whose credentials can be a user's grant (OAuth): answers the
   * refresh token to keep (the CLI's `cloudport auth <provider>`). Loaded lazily, like `open`.
   */
  consent?(o: import('./google-drive/consent.js').ConsentOptions): Promise<{ refreshToken: string; scope: string }>;
  /** Opens a client. Implementations import their SDK here (lazily), so an unused provider costs no start-up time or memory. */
  open(loc: LocationConfig, creds: ResolvedCredentials, ctx: ProviderContext): Promise<StorageProvider>;
  /** Loads the client library that open() needs (hundreds of ms for a cloud SDK), so a long-lived process's first job does not wait for it. */
  preload(): Promise<unknown>;
}
