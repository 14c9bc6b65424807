import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import {
  S3Client,
  HeadBucketCommand,
  ListObjectsV2Command,
  HeadObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  DeleteObjectCommand,
  type _Object,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { CloudportError, ObjectExistsError, isUnreachable } from '../../shared/errors.js';
import type {
  Check,
  CheckOptions,
  ListPage,
  ListRequest,
  LocationConfig,
  ObjectInfo,
  ProviderContext,
  ReadRequest,
  ReadResult,
  ResolvedCredentials,
  StorageProvider,
  WriteOptions,
} from '../types.js';
import { mapS3Error } from './errors.js';
import { s3Identity, type S3Identity } from './credentials.js';
import { writeProbeCheck, writeSkipped } from '../checks.js';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../idle-agents.js';
import { FastGet, type FastGetResult } from './fast-get.js';

const unquote = (etag: string | undefined | null) => (etag ? etag.replace(/^W\//, '').replace(/^"|"$/g, '') : null);
/** S3's change marker: ETag plus size (a multipart ETag is not an MD5, but it still changes with content). */
const versionOf = (etag: string | null, size: number) => `${etag ?? ''}:${size}`;
/** The fast path's response-head and body timeout when the server gives none (the server's own default idle timeout). */
/** Multipart part size for large writes (S3's minimum is 5 MiB). */
const PART_SIZE = 8 * 1024 * 1024;
/**
 * The MD5 (base64) a single-part ETag is: 32 hex digits, no "-N" part count, and not an object
 * encrypted with SSE-KMS / SSE-C (whose ETags are not the MD5 of the bytes). On S3-compatible
 * servers an encrypted object's ETag is not trusted either (MinIO's SSE ETags are not MD5s).
 */
const md5OfEtag = (etag: string | null, sse: string | undefined, sseC: string | undefined, customEndpoint: boolean) =>
  etag && /^[0-9a-f]{32}$/i.test(etag) && !sseC && !(sse ?? '').startsWith('aws:kms') && !(sse && customEndpoint) ? Buffer.from(etag, 'hex').toString('base64') : undefined;

export class S3Provider implements StorageProvider {
  readonly capabilities = { delimiter: true, rangedRead: true, write: true, maxPageSize: 1000, contentEtag: true, readAnswersAtHeaders: true, readTimesOut: true };
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly identity: S3Identity;
  private readonly fast: FastGet;
  /** Whether the agents are this provider's own: shared ones (the endpoint policy's) serve every connector of the process. */
  private readonly ownsAgents: boolean;

  constructor(
    private readonly loc: LocationConfig,
    creds: ResolvedCredentials,
    ctx: ProviderContext,
  ) {
    this.bucket = loc.bucket;
    const agentOpts = { keepAlive: true, maxSockets: ctx.maxSockets, ...(ctx.lookup ? { lookup: ctx.lookup } : {}) };
    // One pair of agents for the SDK client, STS and the fast GET path (the endpoint policy lives in them).
    const agents = ctx.agents ?? { http: new http.Agent(agentOpts), https: new https.Agent(agentOpts) };
    this.ownsAgents = !ctx.agents;
    // socketTimeout is an idle timeout (no byte either way for that long), as the fast GET path's: a PUT or
    // HEAD the server never answers is given up and retried, while a slow upload that moves goes on.
    const requestHandler = () => new NodeHttpHandler({ connectionTimeout: ctx.connectTimeoutMs, socketTimeout: ctx.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, httpAgent: agents.http, httpsAgent: agents.https });
    this.identity = s3Identity(creds, loc, requestHandler, ctx.holdSecrets);
    this.client = new S3Client({
      region: loc.region ?? 'us-east-1',
      ...(loc.endpoint ? { endpoint: loc.endpoint, forcePathStyle: loc.force_path_style !== false } : {}),
      credentials: this.identity.provider,
      // cloudport's own retry layer retries (with Retry-After and resume); the SDK must not multiply attempts.
      maxAttempts: 1,
      // We hash every byte ourselves (SHA-256); skip the SDK's extra checksum work on reads.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: requestHandler(),
    });
    this.fast = new FastGet(this.client, this.bucket, agents, { connectTimeoutMs: ctx.connectTimeoutMs, idleTimeoutMs: ctx.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS });
  }

  private ctx(extra: { key?: string; action?: string } = {}) {
    return { bucket: this.bucket, region: this.loc.region, endpoint: this.loc.endpoint, ...extra };
  }

  private toInfo(o: _Object): ObjectInfo {
    const size = Number(o.Size ?? 0);
    const etag = unquote(o.ETag);
    const info: ObjectInfo = {
      key: o.Key ?? '',
      size,
      last_modified: o.LastModified ? o.LastModified.toISOString() : null,
      etag,
      version: versionOf(etag, size),
    };
    if (o.StorageClass && o.StorageClass !== 'STANDARD') info.storage_class = o.StorageClass;
    return info;
  }

  async list(req: ListRequest): Promise<ListPage> {
    try {
      const maxKeys = Math.min(req.maxKeys ?? 1000, 1000);
      const fast = await this.fast.list({ prefix: req.prefix || undefined, delimiter: req.delimiter, token: req.token, maxKeys }, req.signal);
      if (fast) {
        return {
          objects: fast.objects.map((o) => this.toInfo({ Key: o.key, Size: o.size, ETag: o.etag ?? undefined, LastModified: o.lastModified ? new Date(o.lastModified) : undefined, StorageClass: (o.storageClass ?? undefined) as never })),
          folders: fast.prefixes.filter(Boolean),
          nextToken: fast.nextToken,
        };
      }
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: req.prefix || undefined,
          Delimiter: req.delimiter,
          ContinuationToken: req.token ?? undefined,
          MaxKeys: Math.min(req.maxKeys ?? 1000, 1000),
          // Keys may hold characters XML 1.0 cannot carry; ask for URL-encoding and decode when honoured.
          EncodingType: 'url',
        }),
        { abortSignal: req.signal },
      );
      const encoded = out.EncodingType === 'url';
      const dec = (s: string | undefined) => (s === undefined ? undefined : encoded ? decodeURIComponent(s.replace(/\+/g, ' ')) : s);
      return {
        objects: (out.Contents ?? []).map((o) => this.toInfo({ ...o, Key: dec(o.Key) })),
        folders: (out.CommonPrefixes ?? []).map((p) => dec(p.Prefix) ?? '').filter(Boolean),
        nextToken: out.IsTruncated ? (out.NextContinuationToken ?? null) : null,
      };
    } catch (e) {
      throw mapS3Error(e, this.ctx({ action: 's3:ListBucket' }));
    }
  }

  async stat(key: string, signal?: AbortSignal): Promise<ObjectInfo> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
      const size = Number(out.ContentLength ?? 0);
      const etag = unquote(out.ETag);
      const info: ObjectInfo = { key, size, last_modified: out.LastModified?.toISOString() ?? null, etag, version: versionOf(etag, size) };
      if (out.StorageClass && out.StorageClass !== 'STANDARD') info.storage_class = out.StorageClass;
      if (out.Metadata?.sha256) info.sha256 = out.Metadata.sha256;
      return info;
    } catch (e) {
      throw mapS3Error(e, this.ctx({ key, action: 's3:GetObject' }));
    }
  }

  async read(key: string, req: ReadRequest = {}): Promise<ReadResult> {
    const offset = req.offset ?? 0;
    const ifMatch = req.ifVersion ? req.ifVersion.slice(0, req.ifVersion.lastIndexOf(':')) : '';
    try {
      const fast = await this.fast.get(key, { ...(offset > 0 ? { range: `bytes=${offset}-` } : {}), ...(ifMatch ? { 'if-match': `"${ifMatch}"` } : {}) }, req.signal);
      if (fast) return this.readResult(fast, offset);
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}),
          ...(ifMatch ? { IfMatch: `"${ifMatch}"` } : {}),
        }),
        { abortSignal: req.signal },
      );
      return this.readResult(
        {
          body: out.Body as Readable,
          length: out.ContentLength,
          range: out.ContentRange,
          etag: out.ETag,
          type: out.ContentType,
          sse: out.ServerSideEncryption,
          sseC: out.SSECustomerAlgorithm,
        },
        offset,
      );
    } catch (e) {
      throw mapS3Error(e, this.ctx({ key, action: 's3:GetObject' }));
    }
  }

  private readResult(r: FastGetResult | { body: Readable; length?: number; range?: string; etag?: string; type?: string; sse?: string; sseC?: string }, offset: number): ReadResult {
    const o =
      'headers' in r
        ? {
            body: r.body as Readable,
            length: r.headers['content-length'] === undefined ? undefined : Number(r.headers['content-length']),
            range: r.headers['content-range'],
            etag: r.headers.etag,
            type: r.headers['content-type'],
            sse: r.headers['x-amz-server-side-encryption'] as string | undefined,
            sseC: r.headers['x-amz-server-side-encryption-customer-algorithm'] as string | undefined,
          }
        : r;
    const length = Number(o.length ?? 0);
    let size = offset + length;
    const range = o.range && /\/(\d+)$/.exec(o.range);
    if (range) size = Number(range[1]);
    const etag = unquote(o.etag);
    const md5 = md5OfEtag(etag, o.sse, o.sseC, !!this.loc.endpoint);
    return {
      body: o.body,
      length,
      size,
      content_type: o.type,
      etag,
      version: versionOf(etag, size),
      ...(md5 ? { checksums: { md5 } } : {}),
    };
  }

  async write(key: string, body: Buffer | Readable, opts: WriteOptions = {}): Promise<void> {
    // The sha256 rides along as metadata (if_changed compares it without a download); IfNoneMatch makes "create only" atomic.
    const params = {
      Bucket: this.bucket,
      Key: key,
      ContentType: opts.contentType,
      ...(opts.sha256 ? { Metadata: { sha256: opts.sha256 } } : {}),
      ...(opts.ifAbsent ? { IfNoneMatch: '*' } : {}),
    };
    try {
      if (Buffer.isBuffer(body) && body.length < 8 * 1024 * 1024) {
        // One PUT with a checksum S3 verifies before it keeps the object: the SHA-256 we already know, else Content-MD5.
        const checksum = opts.sha256 ? { ChecksumSHA256: Buffer.from(opts.sha256, 'hex').toString('base64') } : { ContentMD5: opts.md5 ?? createHash('md5').update(body).digest('base64') };
        await this.client.send(new PutObjectCommand({ ...params, Body: body, ...checksum }), { abortSignal: opts.signal });
      } else {
        // Multipart: every part carries its own SHA-256 (x-amz-checksum-sha256), which S3 verifies part by part.
        const abortController = new AbortController();
        const onAbort = () => abortController.abort();
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        try {
          await new Upload({ client: this.client, params: { ...params, Body: body, ChecksumAlgorithm: 'SHA256' }, partSize: PART_SIZE, queueSize: 4, abortController }).done();
        } finally {
          opts.signal?.removeEventListener('abort', onAbort);
        }
      }
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (opts.ifAbsent && (status === 412 || status === 409)) throw new ObjectExistsError(`object ${JSON.stringify(key)}`);
      throw mapS3Error(e, this.ctx({ key, action: 's3:PutObject' }));
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (e) {
      throw mapS3Error(e, this.ctx({ key, action: 's3:DeleteObject' }));
    }
  }

  async detectRegion(): Promise<string | null> {
    try {
      const out = await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return out.BucketRegion ?? null;
    } catch (e) {
      // A bucket in another region answers 301 with its region in a header.
      const region = (e as { $response?: { headers?: Record<string, string> } }).$response?.headers?.['x-amz-bucket-region'];
      return region ?? null;
    }
  }

  async check(opts: CheckOptions): Promise<Check[]> {
    const checks: Check[] = [];
    const arn = `arn:aws:s3:::${this.bucket}`;
    let assumed: string | undefined;
    if (this.identity.whoAmI) {
      // Role assumption: prove the assumed identity first, so a trust-policy problem is named as such.
      try {
        assumed = await this.identity.whoAmI();
      } catch (e) {
        const err = e instanceof CloudportError ? e : mapS3Error(e, this.ctx());
        checks.push({ name: 'auth', status: 'failed', detail: err.message, fix: err.fix, kind: err.kind, ...(err.field ? { field: err.field } : {}), ...(err.temporary ? { temporary: true } : {}) });
        for (const name of ['list', 'read'] as const) checks.push({ name, status: 'skipped', detail: 'skipped: auth failed' });
        if (opts.write) checks.push({ name: 'write', status: 'skipped', detail: 'skipped: auth failed' });
        return checks;
      }
    }
    // auth + list: one ListObjectsV2 tells both (a signature error fails auth; AccessDenied means auth passed).
    let first: ObjectInfo | undefined;
    try {
      const page = await this.list({ prefix: '', maxKeys: 20 });
      first = page.objects.find((o) => o.size > 0 && !o.key.endsWith('/')) ?? page.objects[0];
      checks.push({ name: 'auth', status: 'passed', detail: assumed ? `assumed ${assumed}` : 'credentials accepted' });
      checks.push({ name: 'list', status: 'passed', detail: page.objects.length ? `listed ${page.objects.length}${page.nextToken ? '+' : ''} objects` : 'bucket is empty' });
    } catch (e) {
      const err = e as CloudportError;
      const authFailed = err.kind === 'permission_denied' && err.field?.startsWith('credentials');
      // Unreachable, refused by the endpoint policy, wrong region or bad keys: nothing was proven about permissions.
      if (authFailed || err.kind === 'unexpected' || isUnreachable(err) || err.field === 'region' || err.field === 'endpoint') {
        checks.push({ name: 'auth', status: 'failed', detail: err.message, fix: err.fix, kind: err.kind, ...(err.field ? { field: err.field } : {}), ...(err.temporary ? { temporary: true } : {}) });
        checks.push({ name: 'list', status: 'skipped', detail: 'skipped: auth failed' });
      } else {
        checks.push({ name: 'auth', status: 'passed', detail: assumed ? `assumed ${assumed}` : 'credentials accepted' });
        checks.push({
          name: 'list',
          status: 'failed',
          kind: err.kind,
          ...(err.field ? { field: err.field } : {}), ...(err.temporary ? { temporary: true } : {}),
          detail: err.message,
          fix: err.kind === 'permission_denied' ? `Grant s3:ListBucket on ${arn} to these credentials.` : err.fix,
        });
      }
      checks.push({ name: 'read', status: 'skipped', detail: 'skipped: listing failed' });
      if (opts.write) checks.push({ name: 'write', status: 'skipped', detail: 'skipped: listing failed' });
      return checks;
    }
    if (!first) {
      checks.push({ name: 'read', status: 'skipped', detail: 'skipped: no object to read' });
    } else {
      try {
        const r = await this.read(first.key, { offset: first.size > 1 ? first.size - 1 : 0 });
        r.body.destroy();
        checks.push({ name: 'read', status: 'passed', detail: 'read one object' });
      } catch (e) {
        const err = e as CloudportError;
        checks.push({
          name: 'read',
          status: 'failed',
          kind: err.kind,
          ...(err.field ? { field: err.field } : {}), ...(err.temporary ? { temporary: true } : {}),
          detail: err.message,
          fix: err.kind === 'permission_denied' ? `Grant s3:GetObject on ${arn}/* to these credentials.` : err.fix,
        });
      }
    }
    if (!opts.write) return [...checks, ...writeSkipped(opts)];
    checks.push(
      await writeProbeCheck(this, opts, (err, step) =>
        err.kind === 'permission_denied'
          ? `Grant ${step === 'write' ? 's3:PutObject and s3:DeleteObject' : 's3:DeleteObject'} on ${arn}/${opts.exportBasePath}* to these credentials.`
          : err.fix,
      ),
    );
    return checks;
  }

  close(): void {
    // The SDK client's destroy() destroys its handler's agents: with shared agents it would cut other connectors' requests.
    if (this.ownsAgents) this.client.destroy();
  }
}
