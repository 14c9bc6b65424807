import type http from 'node:http';
import type https from 'node:https';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { httpGet, type GetResponse } from '../../shared/http-get.js';
import { canonicalQuery, escapeRfc3986, SigV4Signer } from './sigv4.js';

/**
 * A lean GetObject and ListObjectsV2: the URL from the SDK's own endpoint rules (resolved once per
 * bucket), the request signed (SigV4, as the SDK's signer signs it) with the client's cached credentials,
 * sent through undici on the provider's agents (shared/http-get.ts). It skips the SDK's middleware
 * stack, which costs
 * more CPU per request than the whole rest of a small-file import (about 0.8 ms per GET on the bench
 * machine), and its generic XML parser. Whatever the fast path does not cover (SigV4a, S3 Express
 * sessions, unusual endpoint answers) makes `get()` and `list()` answer null, and the provider uses
 * the SDK as before.
 */

/** An S3 error answer in the shape `mapS3Error` reads (as the SDK would throw it). */
export interface S3HttpError extends Error {
  $metadata: { httpStatusCode: number };
  $response: { headers: Record<string, string> };
}

export interface FastGetResult {
  status: number;
  headers: Record<string, string>;
  body: Readable;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A key as S3 path segments: every byte but A–Z a–z 0–9 - . _ ~ and the "/" between segments percent-encoded (as the SDK sends it). */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(escapeRfc3986).join('/');
}

type Flag = boolean | (() => Promise<boolean>) | undefined;

/** The parts of the S3 client's resolved config the fast path reads (the SDK keeps most values as async functions). */
interface S3Config {
  endpointProvider: (p: Record<string, unknown>) => {
    url: URL;
    properties?: { authSchemes?: { name?: string; signingName?: string; signingRegion?: string }[] };
    headers?: Record<string, string[]>;
  };
  credentials: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;
  region: () => Promise<string>;
  endpoint?: () => Promise<{ protocol: string; hostname: string; port?: number; path?: string }>;
  forcePathStyle?: boolean;
  useFipsEndpoint?: Flag;
  useDualstackEndpoint?: Flag;
  useAccelerateEndpoint?: Flag;
  useGlobalEndpoint?: Flag;
  useArnRegion?: Flag;
  disableMultiregionAccessPoints?: Flag;
}

const flag = async (v: Flag): Promise<boolean> => (v === undefined ? false : typeof v === 'function' ? await v() : v);

/** The bucket's base URL and a signer for it, from the client's own config and endpoint rules. */
async function resolveTarget(client: S3Client, bucket: string): Promise<{ url: URL; signer: SigV4Signer } | null> {
  const c = client.config as unknown as S3Config;
  const region = await c.region();
  let endpoint: string | undefined;
  if (c.endpoint) {
    const e = await c.endpoint();
    endpoint = `${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ''}${e.path ?? ''}`;
  }
  const ep = c.endpointProvider({
    Bucket: bucket,
    Region: region,
    UseFIPS: await flag(c.useFipsEndpoint),
    UseDualStack: await flag(c.useDualstackEndpoint),
    ForcePathStyle: c.forcePathStyle ?? false,
    Accelerate: await flag(c.useAccelerateEndpoint),
    UseGlobalEndpoint: await flag(c.useGlobalEndpoint),
    UseArnRegion: await flag(c.useArnRegion),
    DisableMultiRegionAccessPoints: await flag(c.disableMultiregionAccessPoints),
    ...(endpoint ? { Endpoint: endpoint } : {}),
  });
  const auth = ep.properties?.authSchemes?.[0];
  // SigV4a (multi-region access points), S3 Express sessions and endpoints that want extra headers stay with the SDK.
  if (!auth || auth.name !== 'sigv4' || (ep.headers && Object.keys(ep.headers).length) || (ep.url.protocol !== 'http:' && ep.url.protocol !== 'https:')) return null;
  const signer = new SigV4Signer(auth.signingRegion ?? region, auth.signingName ?? 's3', c.credentials);
  return { url: new URL(ep.url.href), signer };
}

/** Builds a signed GET of one key, or of the bucket with `query` when `key` is null (exported for tests). */
export async function signedGet(
  url: URL,
  signer: SigV4Signer,
  key: string | null,
  extra: Record<string, string>,
  signingDate?: Date,
  query: Record<string, string> = {},
): Promise<{ path: string; headers: Record<string, string> }> {
  const path = key === null ? url.pathname || '/' : `${url.pathname.replace(/\/$/, '')}/${encodeKeyPath(key)}`;
  const headers = await signer.sign({ host: url.host, path, query, headers: extra, payloadHash: EMPTY_SHA256 }, signingDate);
  const qs = canonicalQuery(query);
  return { path: qs ? `${path}?${qs}` : path, headers };
}

export interface ListedPage {
  objects: { key: string; size: number; lastModified: string | null; etag: string | null; storageClass: string | null }[];
  prefixes: string[];
  nextToken: string | null;
}

const ENTITIES: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };
/** XML text: entities and character references decoded. */
const text = (v: string) =>
  v.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : (ENTITIES[e] ?? m),
  );

/**
 * A ListObjectsV2 answer, read with a few regular expressions over its flat XML (the SDK's generic
 * XML parser costs more CPU than the rest of a listing). Keys come URL-encoded (encoding-type=url),
 * so no key can carry markup; anything that does not look like a ListBucketResult is an error.
 */
export function parseListV2(xml: string): ListedPage {
  if (!/<ListBucketResult[\s>]/.test(xml)) throw new Error('not a ListBucketResult');
  const encoded = tag(xml, 'EncodingType') === 'url';
  const dec = (v: string) => (encoded ? decodeURIComponent(text(v).replace(/\+/g, ' ')) : text(v));
  const objects: ListedPage['objects'] = [];
  for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const c = m[1]!;
    const key = tag(c, 'Key');
    if (key === undefined) throw new Error('an entry without a Key');
    const etag = tag(c, 'ETag');
    const lm = tag(c, 'LastModified');
    const sc = tag(c, 'StorageClass');
    objects.push({ key: dec(key), size: Number(tag(c, 'Size') ?? 0), lastModified: lm ? new Date(text(lm)).toISOString() : null, etag: etag === undefined ? null : text(etag), storageClass: sc === undefined ? null : text(sc) });
  }
  const prefixes = [...xml.matchAll(/<CommonPrefixes>\s*<Prefix>([^<]*)<\/Prefix>\s*<\/CommonPrefixes>/g)].map((m) => dec(m[1]!));
  const truncated = tag(xml, 'IsTruncated') === 'true';
  const token = tag(xml, 'NextContinuationToken');
  return { objects, prefixes, nextToken: truncated && token ? text(token) : null };
}

export class FastGet {
  private target: Promise<{ url: URL; signer: SigV4Signer } | null> | null = null;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly agents: { http: http.Agent; https: https.Agent },
    private readonly timeouts: { connectTimeoutMs: number; idleTimeoutMs: number },
  ) {}

  /** GETs the key, or answers null when this bucket's endpoint needs the SDK (then the caller uses it). */
  async get(key: string, extra: Record<string, string>, signal?: AbortSignal): Promise<FastGetResult | null> {
    this.target ??= resolveTarget(this.client, this.bucket).catch(() => null);
    const t = await this.target;
    if (!t) return null;
    const { path, headers } = await signedGet(t.url, t.signer, key, extra);
    const r = await this.send(t.url, path, headers, signal);
    if (r.status === 200 || r.status === 206) return r;
    throw s3HttpError(r.status, r.headers, await smallBody(r.body));
  }

  /** One ListObjectsV2 page (URL-encoded keys), or null when the SDK must do it. */
  async list(q: { prefix?: string; delimiter?: string; token?: string | null; maxKeys: number }, signal?: AbortSignal): Promise<ListedPage | null> {
    this.target ??= resolveTarget(this.client, this.bucket).catch(() => null);
    const t = await this.target;
    if (!t) return null;
    const query: Record<string, string> = { 'list-type': '2', 'encoding-type': 'url', 'max-keys': String(q.maxKeys) };
    if (q.prefix) query.prefix = q.prefix;
    if (q.delimiter) query.delimiter = q.delimiter;
    if (q.token) query['continuation-token'] = q.token;
    const { path, headers } = await signedGet(t.url, t.signer, null, {}, undefined, query);
    const r = await this.send(t.url, path, headers, signal);
    if (r.status !== 200) throw s3HttpError(r.status, r.headers, await smallBody(r.body));
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of r.body as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > 64 * 1024 * 1024) {
        r.body.destroy();
        throw Object.assign(new Error('listing answer over 64 MiB'), { name: 'ResponseTooLarge' });
      }
      chunks.push(c);
    }
    try {
      return parseListV2(Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      throw Object.assign(new Error(`unreadable listing answer: ${(e as Error).message}`), { name: 'InvalidListAnswer', $metadata: { httpStatusCode: 502 } });
    }
  }

  private send(url: URL, path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<GetResponse> {
    const secure = url.protocol === 'https:';
    const target = { protocol: secure ? ('https:' as const) : ('http:' as const), hostname: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || (secure ? 443 : 80) };
    return httpGet(secure ? this.agents.https : this.agents.http, target, path, headers, { ...this.timeouts, signal });
  }
}

/** An error answer's body (its XML names the S3 error code), up to 64 KiB. */
async function smallBody(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of body as AsyncIterable<Buffer>) {
      if (n < 64 * 1024) chunks.push(c);
      n += c.length;
    }
  } catch {
    // a cut error body: the status still says what happened
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m?.[1];
}

/** The error the SDK would have thrown for this answer: its name is S3's error code. */
export function s3HttpError(status: number, headers: http.IncomingHttpHeaders, body: string): S3HttpError {
  const code = tag(body, 'Code') ?? (status === 404 ? 'NotFound' : status === 403 ? 'Forbidden' : status === 412 ? 'PreconditionFailed' : `Http${status}`);
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
  const e = new Error(tag(body, 'Message') ?? code) as S3HttpError;
  e.name = code;
  e.$metadata = { httpStatusCode: status };
  e.$response = { headers: flat };
  return e;
}
