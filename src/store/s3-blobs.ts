import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import {
  S3Client,
  HeadBucketCommand,
  HeadObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { CloudportError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { redact, registerSecret } from '../shared/redact.js';
import { BLOB_ID, MARKER_NAME, TempFiles, checkBlobId, type BlobStore } from './blob-store.js';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix without leading or trailing slash ('' for the bucket's root). */
  prefix: string;
  /** An S3-compatible server (path-style); null for AWS. */
  endpoint: string | null;
  region: string;
  /** The data dir: download temp files live in its `incoming` directory (TempFiles). */
  dataDir: string;
  env: NodeJS.ProcessEnv;
  log?: Logger;
}

/** Blobs up to this size go up in one PUT from memory; larger ones as a multipart upload streamed from the temp file. */
const SINGLE_PUT_MAX = 8 * 1024 * 1024;
const PART_SIZE = 8 * 1024 * 1024;
/** Above this size, commit asks first whether the blob is already there (saves an upload for duplicates). */
const HEAD_FIRST_MIN = 1024 * 1024;
/** stream() reads a blob in ranged GETs of this size. */
const STREAM_RANGE = 8 * 1024 * 1024;

const httpStatus = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
const errName = (e: unknown) => (e as { name?: string })?.name ?? '';
const isMissing = (e: unknown) => httpStatus(e) === 404 || errName(e) === 'NoSuchKey' || errName(e) === 'NotFound';

/**
 * Blobs in an S3 bucket (AWS or S3-compatible), so workers on several hosts share one set of
 * indexes: `<prefix>/<sha[0:2]>/<sha>`. Downloads still stream into a local temp file; commit uploads
 * it under its SHA-256 (the same address always holds the same bytes, so a repeated commit is
 * harmless) and removes the temp file. Reads are ranged GETs. Credentials come from
 * CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID / CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY (optionally
 * CLOUDPORT_BLOB_STORE_SESSION_TOKEN) or, without them, the AWS SDK's default chain; they are
 * registered for redaction and never logged.
 */
export class S3BlobStore implements BlobStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly temp: TempFiles;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(private readonly opts: S3BlobStoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ? `${opts.prefix}/` : '';
    this.location = `s3://${opts.bucket}/${opts.prefix}`;
    this.temp = new TempFiles(opts.dataDir);
    const id = opts.env.CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID;
    const secret = opts.env.CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY;
    const token = opts.env.CLOUDPORT_BLOB_STORE_SESSION_TOKEN;
    if (!!id !== !!secret) {
      throw new CloudportError('config_invalid', 'the S3 blob store needs both CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID and CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY (or neither, for the AWS default chain)', {
        field: id ? 'CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY' : 'CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID',
      });
    }
    registerSecret(secret);
    registerSecret(token);
    const agentOpts = { keepAlive: true, maxSockets: 64 };
    this.client = new S3Client({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
      ...(id && secret ? { credentials: { accessKeyId: id, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) } } : {}),
      // Our own operations on our own bucket: let the SDK retry temporary errors with its backoff.
      maxAttempts: 4,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: new NodeHttpHandler({ connectionTimeout: 10_000, httpAgent: new http.Agent(agentOpts), httpsAgent: new https.Agent(agentOpts) }),
    });
  }

  private key(sha: string): string {
    checkBlobId(sha);
    return `${this.prefix}${sha.slice(0, 2)}/${sha}`;
  }

  /** An error that names the blob store but never its credentials. */
  private fail(action: string, e: unknown): CloudportError {
    const status = httpStatus(e);
    const msg = redact((e as Error)?.message || errName(e) || 'unknown error');
    const denied = status === 403 || /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch/.test(errName(e));
    return new CloudportError(denied ? 'permission_denied' : 'unexpected', `blob store ${this.location}: ${action} failed (${status ? `HTTP ${status}: ` : ''}${msg})`, {
      temporary: !denied && (status === undefined || status >= 500 || status === 429),
      fix: denied ? 'Give the blob store credentials s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on this bucket and prefix.' : undefined,
    });
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      const err = this.fail('opening the bucket', e);
      throw new CloudportError('config_invalid', err.message, {
        field: '--blob-store',
        fix: isMissing(e) ? `Create the bucket ${this.bucket} (or fix --blob-store / --blob-store-endpoint).` : (err.fix ?? 'Check --blob-store-endpoint, --blob-store-region and the blob store credentials.'),
      });
    }
  }

  tempPath(): string {
    return this.temp.tempPath();
  }

  createTemp(): Promise<{ path: string; stream: fs.WriteStream }> {
    return this.temp.createTemp();
  }

  discard(tempPath: string): Promise<void> {
    return this.temp.discard(tempPath);
  }

  cleanTemp(): Promise<number> {
    return this.temp.cleanTemp();
  }

  async commit(tempPath: string, sha256: string): Promise<void> {
    const Key = this.key(sha256);
    try {
      const { size } = await fsp.stat(tempPath);
      if (size >= HEAD_FIRST_MIN && (await this.size(Key)) === size) return;
      if (size <= SINGLE_PUT_MAX) {
        const Body = await fsp.readFile(tempPath);
        // The server checks the body against our SHA-256: a blob is never stored with bytes other than its name says.
        const ChecksumSHA256 = Buffer.from(sha256, 'hex').toString('base64');
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body, ContentLength: size, ContentType: 'application/octet-stream', ChecksumSHA256 }));
      } else {
        await new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key, Body: fs.createReadStream(tempPath), ContentType: 'application/octet-stream' },
          partSize: PART_SIZE,
          queueSize: 2,
          leavePartsOnError: false,
        }).done();
      }
    } catch (e) {
      throw e instanceof CloudportError ? e : this.fail('upload', e);
    } finally {
      await this.temp.discard(tempPath);
    }
  }

  /** The stored size of a key, or null when it does not exist. */
  private async size(Key: string): Promise<number | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return Number(out.ContentLength ?? 0);
    } catch (e) {
      if (isMissing(e)) return null;
      throw this.fail('HEAD', e);
    }
  }

  /** One ranged GET: bytes [offset, offset + length) (fewer at the end of the blob), and the blob's total size. */
  private async range(sha256: string, offset: number, length: number): Promise<{ body: Readable | null; total: number | null }> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(sha256), Range: `bytes=${offset}-${offset + length - 1}` }));
      const total = Number(/\/(\d+)$/.exec(out.ContentRange ?? '')?.[1] ?? NaN);
      return { body: out.Body as Readable, total: Number.isFinite(total) ? total : null };
    } catch (e) {
      if (httpStatus(e) === 416 || errName(e) === 'InvalidRange') return { body: null, total: null };
      throw this.fail(errName(e) === 'NoSuchBucket' ? 'read (its bucket does not exist)' : isMissing(e) ? 'read (no such blob)' : 'read', e);
    }
  }

  async read(sha256: string, offset: number, length: number): Promise<Buffer> {
    if (length <= 0) {
      checkBlobId(sha256);
      return Buffer.alloc(0);
    }
    const { body } = await this.range(sha256, offset, length);
    if (!body) return Buffer.alloc(0);
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  stream(sha256: string): Readable {
    checkBlobId(sha256);
    const self = this;
    async function* ranges() {
      let pos = 0;
      for (;;) {
        const { body, total } = await self.range(sha256, pos, STREAM_RANGE);
        if (!body) return;
        for await (const c of body) {
          pos += (c as Buffer).length;
          yield c as Buffer;
        }
        if (total === null || pos >= total) return;
      }
    }
    return Readable.from(ranges(), { objectMode: false });
  }

  async remove(sha256: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(sha256) }));
    } catch (e) {
      if (isMissing(e)) return;
      throw this.fail('delete', e);
    }
  }

  async *list(): AsyncIterable<string> {
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix || undefined, ContinuationToken: token, MaxKeys: 1000 }));
      } catch (e) {
        throw this.fail('list', e);
      }
      for (const o of out.Contents ?? []) {
        const name = o.Key?.slice(this.prefix.length) ?? '';
        const m = /^([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(name);
        if (m && BLOB_ID.test(m[2]!) && m[2]!.startsWith(m[1]!)) yield m[2]!;
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async readMarker(): Promise<string | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${MARKER_NAME}` }));
      return (await out.Body!.transformToString()).trim() || null;
    } catch (e) {
      if (isMissing(e)) return null;
      throw this.fail('reading its marker', e);
    }
  }

  async writeMarker(id: string): Promise<void> {
    try {
      // Create-only where the service honours If-None-Match: the first process's id stays.
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${MARKER_NAME}`, Body: `${id}\n`, IfNoneMatch: '*', ContentType: 'text/plain' }));
    } catch (e) {
      // 412: a marker is there; 409: another conditional write of it is in flight. Either way the caller reads it.
      if (httpStatus(e) === 412 || httpStatus(e) === 409 || errName(e) === 'PreconditionFailed' || errName(e) === 'ConditionalRequestConflict') return;
      throw this.fail('writing its marker', e);
    }
  }

  close(): void {
    this.client.destroy();
  }
}
