import type http from 'node:http';
import type https from 'node:https';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { SaxesParser } from 'saxes';
import { CloudportError } from '../../shared/errors.js';
import { httpGet, type GetResponse } from '../../shared/http-get.js';
import { canonicalQuery, escapeRfc3986, SigV4Signer } from './sigv4.js';

/**
 * A lean GetObject and ListObjectsV2: the URL from the SDK's own endpoint rules (resolved once per
 * bucket), the request signed (SigV4, as the SDK's signer signs it) with the client's cached credentials,
 * sent through undici on the provider's agents (shared/http-get.ts). It skips the SDK's middleware
 * stack, which costs more CPU per request than the whole rest of a small-file import, and its generic
 * XML parser. Whatever the fast path does not cover (SigV4a, S3 Express
 * sessions, unusual endpoint answers) makes `get()` and `list()` answer null, and the provider uses
 * the SDK instead.
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

/** Why a page is refused: a listing read wrong would let an import complete without some of its files. */
function badPage(why: string): never {
  throw new CloudportError('unexpected', `the ListObjectsV2 answer cannot be trusted: ${why}`, {
    temporary: true,
    fix: 'Retry; if it persists, check that endpoint is the S3 API of the server (not its console, a health URL, or a proxy that rewrites answers).',
  });
}

/** Entries of a page, arrays even when there is one. */
const LISTS = new Set(['Contents', 'CommonPrefixes']);

interface Open {
  name: string;
  /** Child elements by name (without a namespace prefix); null while the element holds only text. */
  kids: XmlNode | null;
  text: string;
}

/**
 * A page as a tree of plain objects, from saxes (a strict XML 1.0 parser: any well-formedness error,
 * an undefined entity, a bare "&", a reference to no character or an unclosed document throws).
 * An element with child elements is an object of them, by name without a namespace prefix
 * (`<s3:Contents>`); one holding only text is that text exactly as sent (no trimming, no number
 * parsing; CDATA is text, comments and processing instructions vanish). A name met twice becomes an
 * array, and Contents and CommonPrefixes under the root always are. Attributes are ignored.
 */
function xmlTree(xml: string): XmlNode {
  // Objects without a prototype: an element named __proto__ is only a name.
  const doc: Open = { name: '', kids: Object.create(null) as XmlNode, text: '' };
  const stack: Open[] = [doc];
  // XML 1.0 whatever the declaration says: under 1.1 rules saxes turns U+0085 and U+2028 into "\n" and
  // accepts references to C0 controls, so a key would be read as another.
  const p = new SaxesParser({ position: false, defaultXMLVersion: '1.0', forceXMLVersion: true });
  // The page was decoded as UTF-8 (fatally: see FastGet.list); a page in another encoding is read wrong.
  p.on('xmldecl', (d) => {
    if (d.encoding !== undefined && !/^(utf-?8|us-ascii)$/i.test(d.encoding)) badPage(`the page declares encoding ${JSON.stringify(d.encoding)}, not UTF-8`);
  });
  p.on('opentag', (t) => {
    const top = stack[stack.length - 1]!;
    top.kids ??= Object.create(null) as XmlNode;
    stack.push({ name: t.name.slice(t.name.indexOf(':') + 1), kids: null, text: '' });
  });
  const addText = (t: string) => {
    stack[stack.length - 1]!.text += t;
  };
  p.on('text', addText);
  p.on('cdata', addText);
  p.on('closetag', () => {
    const el = stack.pop()!;
    const parent = stack[stack.length - 1]!;
    const into = parent.kids!;
    const value = el.kids ?? el.text;
    const prev = into[el.name];
    if (prev === undefined) into[el.name] = stack.length === 2 && LISTS.has(el.name) ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else into[el.name] = [prev, value];
  });
  p.write(xml).close();
  return doc.kids!;
}

type XmlNode = Record<string, unknown>;

/** The text of a child element that may appear once (undefined when absent). */
function text(node: XmlNode, name: string, where: string): string | undefined {
  const v = node[name];
  if (v === undefined || typeof v === 'string') return v;
  return badPage(`${where}: <${name}> is not a single text element`);
}

/**
 * A ListObjectsV2 answer, parsed as XML and checked for consistency: KeyCount (when sent) equals the
 * entries (Contents plus CommonPrefixes), a truncated page carries its continuation token, and every
 * entry has a Key and a numeric Size. Anything else fails the listing (a temporary error) rather than
 * shortening it. Keys come URL-encoded when the server honours encoding-type=url.
 */
export function parseListV2(xml: string): ListedPage {
  let doc: XmlNode;
  try {
    doc = xmlTree(xml);
  } catch (e) {
    if (e instanceof CloudportError) throw e;
    return badPage(`not well-formed XML (${(e as Error).message})`);
  }
  const root = doc.ListBucketResult;
  if (!root || typeof root !== 'object' || Array.isArray(root)) return badPage(`not a ListBucketResult (root ${Object.keys(doc).join(', ') || 'none'})`);
  const r = root as XmlNode;
  const encoded = text(r, 'EncodingType', 'the page')?.trim() === 'url';
  const dec = (v: string, what: string) => {
    if (!encoded) return v;
    try {
      return decodeURIComponent(v.replace(/\+/g, ' '));
    } catch {
      return badPage(`${what} ${JSON.stringify(v)} is not valid URL encoding`);
    }
  };
  const objects: ListedPage['objects'] = [];
  for (const c of (r.Contents ?? []) as unknown[]) {
    if (!c || typeof c !== 'object') return badPage('a Contents entry without a Key');
    const n = c as XmlNode;
    const raw = text(n, 'Key', 'a Contents entry');
    if (!raw) return badPage('a Contents entry without a Key');
    const key = dec(raw, 'the key');
    const size = text(n, 'Size', `the entry for ${JSON.stringify(key)}`)?.trim();
    if (!size || !/^\d{1,15}$/.test(size)) return badPage(`the entry for ${JSON.stringify(key)} has no numeric Size (${JSON.stringify(size ?? null)})`);
    const lm = text(n, 'LastModified', `the entry for ${JSON.stringify(key)}`)?.trim();
    const when = lm ? new Date(lm) : null;
    if (when && Number.isNaN(when.getTime())) return badPage(`the entry for ${JSON.stringify(key)} has an invalid LastModified (${JSON.stringify(lm)})`);
    objects.push({
      key,
      size: Number(size),
      lastModified: when ? when.toISOString() : null,
      etag: text(n, 'ETag', `the entry for ${JSON.stringify(key)}`) ?? null,
      storageClass: text(n, 'StorageClass', `the entry for ${JSON.stringify(key)}`)?.trim() ?? null,
    });
  }
  const prefixes: string[] = [];
  for (const p of (r.CommonPrefixes ?? []) as unknown[]) {
    const raw = p && typeof p === 'object' ? text(p as XmlNode, 'Prefix', 'a CommonPrefixes entry') : undefined;
    if (raw === undefined) return badPage('a CommonPrefixes entry without a Prefix');
    prefixes.push(dec(raw, 'the prefix'));
  }
  const count = text(r, 'KeyCount', 'the page')?.trim();
  if (count !== undefined && (!/^\d{1,9}$/.test(count) || Number(count) !== objects.length + prefixes.length)) {
    return badPage(`KeyCount ${count} but the page holds ${objects.length + prefixes.length} entries (${objects.length} Contents, ${prefixes.length} CommonPrefixes)`);
  }
  const truncated = text(r, 'IsTruncated', 'the page')?.trim();
  if (truncated !== 'true' && truncated !== 'false') return badPage(`IsTruncated is ${JSON.stringify(truncated ?? null)}, not true or false`);
  const token = text(r, 'NextContinuationToken', 'the page');
  if (truncated === 'true' && !token) return badPage('IsTruncated is true but there is no NextContinuationToken');
  return { objects, prefixes, nextToken: truncated === 'true' ? token! : null };
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
    let xml: string;
    try {
      // Fatal: an invalid byte would become U+FFFD in a key the bucket does not hold.
      xml = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
    } catch {
      return badPage('the page is not valid UTF-8');
    }
    return parseListV2(xml);
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
