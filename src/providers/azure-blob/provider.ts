import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import {
  AnonymousCredential,
  BlobServiceClient,
  ContainerClient,
  StorageSharedKeyCredential,
  newPipeline,
  type BlobItem,
  type Pipeline,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { DefaultAzureCredential } from '@azure/identity';
import { createDefaultHttpClient, type HttpClient, type PipelineRequest } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/core-auth';
import { CloudportError, ObjectExistsError, isUnreachable } from '../../shared/errors.js';
import type { Check, CheckOptions, ListPage, ListRequest, LocationConfig, ObjectInfo, ProviderContext, ReadRequest, ReadResult, ResolvedCredentials, StorageProvider, WriteOptions } from '../types.js';
import { writeProbeCheck, writeSkipped } from '../checks.js';
import { mapAzureError, type AzureErrorContext, type SasRight } from './errors.js';
import { DEFAULT_IDLE_TIMEOUT_MS, idleAgents } from '../idle-agents.js';
import { accountFromEndpoint, cleanEndpoint, parseConnectionString, sasInfo, splitSasUrl } from './locate.js';

const MAX_PAGE = 5000;
/** Streams of a known size up to this go in one Put Blob; larger ones (and unknown sizes) as blocks. */
const SINGLE_PUT_MAX = 256 * 1024 * 1024;
const BLOCK_SIZE = 8 * 1024 * 1024;

const unquote = (etag: string | undefined) => (etag ? etag.replace(/^"|"$/g, '') : null);

/** The account's blob endpoint from the location: explicit, or https://<account>.blob.core.windows.net. */
export function accountUrl(loc: LocationConfig): { url: string; field: string } {
  if (loc.endpoint) return { url: loc.endpoint.replace(/\/+$/, ''), field: 'endpoint' };
  if (typeof loc.account_name === 'string') return { url: `https://${loc.account_name}.blob.core.windows.net`, field: 'account_name' };
  throw new CloudportError('config_invalid', 'azure_blob needs account_name or endpoint (or a connection string / SAS URL that carries the account)', {
    field: 'account_name',
    fix: 'Give account_name (e.g. "mystorageacct") or endpoint (e.g. "https://mystorageacct.blob.core.windows.net").',
  });
}

/** The account name: explicit, or the one the endpoint names. */
export function accountName(loc: LocationConfig, url: string): string | undefined {
  return typeof loc.account_name === 'string' ? loc.account_name : accountFromEndpoint(url);
}

/** How the client reaches and authenticates to the container. */
interface Target {
  container: ContainerClient;
  errorCtx: Omit<AzureErrorContext, 'container' | 'key' | 'right'>;
}

type Credential = StorageSharedKeyCredential | AnonymousCredential | TokenCredential;

class AzureClients {
  private ownAgents?: { http: http.Agent; https: https.Agent };
  constructor(private readonly ctx: ProviderContext) {}

  /**
   * Every client is built on an explicit pipeline: no SDK retries (cloudport retries itself), no
   * redirects followed, and an HTTP client that puts the endpoint policy's agents on each request.
   */
  pipeline(credential: Credential): Pipeline {
    const options = { retryOptions: { maxTries: 1 }, redirectOptions: { maxRetries: 0 } };
    const pipeline = newPipeline(credential, options as StoragePipelineOptions);
    {
      // The SDK's own client has no idle timeout (its per-request timeout is absolute, unsafe for a large
      // block): the agents close a socket idle for idleTimeoutMs, so a stalled request fails and is retried.
      const agents =
        this.ctx.agents ??
        (this.ownAgents ??= idleAgents({ maxSockets: this.ctx.maxSockets, idleTimeoutMs: this.ctx.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, ...(this.ctx.lookup ? { lookup: this.ctx.lookup } : {}) }));
      const inner = createDefaultHttpClient();
      const client: HttpClient = {
        sendRequest: (request: PipelineRequest) => {
          request.agent = request.url.startsWith('https:') ? agents.https : agents.http;
          return inner.sendRequest(request);
        },
      };
      // The SDK reads its core HTTP client from here (storage-blob 12.x Pipeline.getCoreClientOptions).
      (pipeline as unknown as { _coreHttpClient: HttpClient })._coreHttpClient = client;
    }
    return pipeline;
  }

  close(): void {
    this.ownAgents?.http.destroy();
    this.ownAgents?.https.destroy();
  }
}

function target(loc: LocationConfig, creds: ResolvedCredentials, clients: AzureClients): Target {
  const container = loc.bucket;
  const open = (url: string, query: string, credential: Credential) =>
    new BlobServiceClient(query ? `${url}?${query}` : url, clients.pipeline(credential)).getContainerClient(container);
  switch (creds.type) {
    case 'connection_string': {
      const cs = parseConnectionString(String(creds.connection_string));
      // An explicit endpoint wins (a private endpoint or proxy): signatures do not cover the host.
      const from = loc.endpoint ? { url: loc.endpoint.replace(/\/+$/, ''), field: 'endpoint' } : cs.blobEndpoint ? { url: cleanEndpoint(cs.blobEndpoint, 'credentials.connection_string'), field: 'credentials.connection_string' } : null;
      if (!from) throw new CloudportError('config_invalid', 'the connection string names no blob endpoint (BlobEndpoint or AccountName)', { field: 'credentials.connection_string', fix: 'Copy the whole connection string from the portal (Access keys): it holds AccountName=…;AccountKey=…;EndpointSuffix=…' });
      const base = { endpoint: from.url, endpointField: from.field };
      if (cs.sas) return { container: open(from.url, cs.sas, new AnonymousCredential()), errorCtx: { ...base, auth: 'sas', sas: sasInfo(cs.sas) } };
      const name = cs.accountName ?? accountName(loc, from.url);
      if (!name || !cs.accountKey) {
        throw new CloudportError('config_invalid', 'the connection string needs AccountName and AccountKey (or SharedAccessSignature)', {
          field: 'credentials.connection_string',
          fix: 'Copy the whole connection string from the storage account\'s "Access keys" page (it holds AccountName and AccountKey), or use a SAS.',
        });
      }
      return { container: open(from.url, '', new StorageSharedKeyCredential(name, cs.accountKey)), errorCtx: { ...base, auth: 'key' } };
    }
    case 'account_key': {
      const from = accountUrl(loc);
      const name = accountName(loc, from.url);
      if (!name) throw new CloudportError('config_invalid', 'account_key credentials need account_name (the endpoint does not name the account)', { field: 'account_name', fix: 'Give account_name, the storage account the key belongs to.' });
      return { container: open(from.url, '', new StorageSharedKeyCredential(name, String(creds.account_key))), errorCtx: { endpoint: from.url, endpointField: from.field, auth: 'key' } };
    }
    case 'sas': {
      if (typeof creds.sas_url === 'string') {
        const sas = splitSasUrl(creds.sas_url);
        if (sas.container !== undefined && sas.container !== container) {
          throw new CloudportError('config_invalid', `the SAS URL is for container ${JSON.stringify(sas.container)}, not ${JSON.stringify(container)}`, { field: 'container', fix: 'Give the container the SAS URL points at, or a SAS URL for this container.' });
        }
        const from = loc.endpoint ? { url: loc.endpoint.replace(/\/+$/, ''), field: 'endpoint' } : { url: sas.accountUrl, field: 'credentials.sas_url' };
        return { container: open(from.url, sas.token, new AnonymousCredential()), errorCtx: { endpoint: from.url, endpointField: from.field, auth: 'sas', sas: sasInfo(sas.token) } };
      }
      const token = String(creds.sas_token ?? '').replace(/^\?/, '');
      const from = accountUrl(loc);
      return { container: open(from.url, token, new AnonymousCredential()), errorCtx: { endpoint: from.url, endpointField: from.field, auth: 'sas', sas: sasInfo(token) } };
    }
    case 'default': {
      const from = accountUrl(loc);
      // Bearer tokens never travel in clear text.
      if (!from.url.startsWith('https:')) throw new CloudportError('config_invalid', 'default (Entra ID) credentials need an https endpoint', { field: from.field, fix: 'Use an https endpoint, or account_key / connection_string / sas credentials.' });
      return { container: open(from.url, '', new DefaultAzureCredential()), errorCtx: { endpoint: from.url, endpointField: from.field, auth: 'token' } };
    }
    default:
      throw new CloudportError('config_invalid', `credentials type ${JSON.stringify(creds.type)} is not supported for azure_blob`, { field: 'credentials.type' });
  }
}

export class AzureBlobProvider implements StorageProvider {
  readonly capabilities = { delimiter: true, rangedRead: true, write: true, maxPageSize: MAX_PAGE, contentEtag: true, readAnswersAtHeaders: true, readTimesOut: false };
  private readonly container: ContainerClient;
  private readonly errorCtx: Target['errorCtx'];
  private readonly clients: AzureClients;

  constructor(
    private readonly loc: LocationConfig,
    creds: ResolvedCredentials,
    ctx: ProviderContext,
  ) {
    this.clients = new AzureClients(ctx);
    ({ container: this.container, errorCtx: this.errorCtx } = target(loc, creds, this.clients));
  }

  private ctx(extra: { key?: string; right?: SasRight } = {}): AzureErrorContext {
    return { container: this.loc.bucket, ...this.errorCtx, ...extra };
  }

  private info(key: string, p: { etag?: string; contentLength?: number; lastModified?: Date; accessTier?: string }): ObjectInfo {
    const etag = unquote(p.etag);
    const info: ObjectInfo = { key, size: Number(p.contentLength ?? 0), last_modified: p.lastModified?.toISOString() ?? null, etag, version: etag ?? '' };
    // Archive-tier blobs cannot be read until rehydrated: say so, so imports can fail them up front.
    if (p.accessTier === 'Archive') info.storage_class = 'Archive';
    return info;
  }

  async list(req: ListRequest): Promise<ListPage> {
    const settings = { maxPageSize: Math.max(1, Math.min(req.maxKeys ?? MAX_PAGE, MAX_PAGE)), ...(req.token ? { continuationToken: req.token } : {}) };
    const options = { prefix: req.prefix || undefined, abortSignal: req.signal };
    try {
      if (req.delimiter) {
        const page = (await this.container.listBlobsByHierarchy(req.delimiter, options).byPage(settings).next()).value;
        return {
          objects: (page?.segment.blobItems ?? []).map((b: BlobItem) => this.info(b.name, b.properties)),
          folders: (page?.segment.blobPrefixes ?? []).map((p: { name: string }) => p.name),
          nextToken: page?.continuationToken || null,
        };
      }
      const page = (await this.container.listBlobsFlat(options).byPage(settings).next()).value;
      return { objects: (page?.segment.blobItems ?? []).map((b: BlobItem) => this.info(b.name, b.properties)), folders: [], nextToken: page?.continuationToken || null };
    } catch (e) {
      throw mapAzureError(e, this.ctx({ right: 'l' }));
    }
  }

  async stat(key: string, signal?: AbortSignal): Promise<ObjectInfo> {
    try {
      const props = await this.container.getBlobClient(key).getProperties({ abortSignal: signal });
      const info = this.info(key, props);
      if (props.metadata?.sha256) info.sha256 = props.metadata.sha256;
      return info;
    } catch (e) {
      throw mapAzureError(e, this.ctx({ key, right: 'r' }));
    }
  }

  async read(key: string, req: ReadRequest = {}): Promise<ReadResult> {
    const offset = req.offset ?? 0;
    try {
      const r = await this.container.getBlobClient(key).download(offset, undefined, {
        abortSignal: req.signal,
        // cloudport resumes cut bodies itself (pinned to the etag): no hidden retries inside the stream.
        maxRetryRequests: 0,
        ...(req.ifVersion ? { conditions: { ifMatch: `"${req.ifVersion}"` } } : {}),
      });
      const length = Number(r.contentLength ?? 0);
      const range = /\/(\d+)$/.exec(r.contentRange ?? '');
      const etag = unquote(r.etag);
      const body = r.readableStreamBody as Readable;
      body.on('error', () => undefined); // errors reach the consumer through iteration
      // The blob's Content-MD5: a whole read carries it as Content-MD5, a ranged one as x-ms-blob-content-md5.
      const md5 = offset === 0 && !range ? (r.contentMD5 ?? r.blobContentMD5) : r.blobContentMD5;
      return {
        body,
        length,
        size: range ? Number(range[1]) : offset + length,
        ...(r.contentType ? { content_type: r.contentType } : {}),
        etag,
        version: etag ?? '',
        ...(md5?.length ? { checksums: { md5: Buffer.from(md5).toString('base64') } } : {}),
      };
    } catch (e) {
      throw mapAzureError(e, this.ctx({ key, right: 'r' }));
    }
  }

  async write(key: string, body: Buffer | Readable, opts: WriteOptions = {}): Promise<void> {
    const blob = this.container.getBlockBlobClient(key);
    // x-ms-blob-content-md5 on a Put Blob: the service checks it before it keeps the blob (and keeps it as the blob's MD5).
    const md5 = opts.md5 ? Buffer.from(opts.md5, 'base64') : Buffer.isBuffer(body) ? createHash('md5').update(body).digest() : undefined;
    const blobHTTPHeaders = { ...(md5 ? { blobContentMD5: md5 } : {}), ...(opts.contentType ? { blobContentType: opts.contentType } : {}) };
    const common = {
      blobHTTPHeaders,
      abortSignal: opts.signal,
      ...(opts.sha256 ? { metadata: { sha256: opts.sha256 } } : {}),
      ...(opts.ifAbsent ? { conditions: { ifNoneMatch: '*' } } : {}),
    };
    try {
      if (Buffer.isBuffer(body) && body.length <= SINGLE_PUT_MAX) {
        await blob.upload(body, body.length, common);
      } else if (!Buffer.isBuffer(body) && opts.size !== undefined && opts.size <= BLOCK_SIZE) {
        // A small stream of known size: one request, streamed (never buffered whole).
        await blob.upload(() => body, opts.size, common);
      } else {
        await this.uploadBlocks(blob, body, common);
      }
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      if (opts.ifAbsent && (status === 409 || status === 412)) throw new ObjectExistsError(`blob ${JSON.stringify(key)}`);
      throw mapAzureError(e, this.ctx({ key, right: 'w' }));
    }
  }

  /** Block upload: each block carries a Content-MD5 the service verifies; the commit sets headers, metadata and conditions. */
  private async uploadBlocks(
    blob: ReturnType<ContainerClient['getBlockBlobClient']>,
    body: Buffer | Readable,
    common: { blobHTTPHeaders: Record<string, unknown>; abortSignal?: AbortSignal; metadata?: Record<string, string>; conditions?: { ifNoneMatch: string } },
  ): Promise<void> {
    const ids: string[] = [];
    const inflight = new Set<Promise<void>>();
    let failure: unknown = null;
    const stage = (chunk: Buffer) => {
      const id = Buffer.from(String(ids.length).padStart(6, '0')).toString('base64');
      ids.push(id);
      const p: Promise<void> = blob
        .stageBlock(id, chunk, chunk.length, { transactionalContentMD5: createHash('md5').update(chunk).digest(), abortSignal: common.abortSignal })
        .then(
          () => void inflight.delete(p),
          (e) => {
            inflight.delete(p);
            failure ??= e;
          },
        );
      inflight.add(p);
    };
    let pending: Buffer[] = [];
    let have = 0;
    const source: AsyncIterable<Buffer> = Buffer.isBuffer(body) ? [body] as unknown as AsyncIterable<Buffer> : (body as AsyncIterable<Buffer>);
    for await (const c of source) {
      pending.push(c);
      have += c.length;
      while (have >= BLOCK_SIZE) {
        const all = Buffer.concat(pending);
        stage(all.subarray(0, BLOCK_SIZE));
        pending = [all.subarray(BLOCK_SIZE)];
        have = all.length - BLOCK_SIZE;
        while (inflight.size >= 4 && !failure) await Promise.race(inflight);
        if (failure) throw failure;
      }
    }
    if (have > 0 || !ids.length) stage(Buffer.concat(pending));
    await Promise.all(inflight);
    if (failure) throw failure;
    const { blobHTTPHeaders, abortSignal, metadata, conditions } = common;
    await blob.commitBlockList(ids, { blobHTTPHeaders, abortSignal, ...(metadata ? { metadata } : {}), ...(conditions ? { conditions } : {}) });
  }

  async delete(key: string): Promise<void> {
    try {
      await this.container.getBlobClient(key).delete({ deleteSnapshots: 'include' });
    } catch (e) {
      throw mapAzureError(e, this.ctx({ key, right: 'd' }));
    }
  }

  /** The read check: the blob's properties, then its first bytes (at most 64). */
  private async readProbe(o: ObjectInfo, signal?: AbortSignal): Promise<string> {
    const props = await this.stat(o.key, signal);
    if (props.storage_class === 'Archive') return `read the properties of ${JSON.stringify(o.key)} (its bytes are in the Archive tier)`;
    try {
      const r = await this.container.getBlobClient(o.key).download(0, props.size > 0 ? Math.min(props.size, 64) : undefined, { abortSignal: signal, maxRetryRequests: 0 });
      let got = 0;
      for await (const c of r.readableStreamBody as AsyncIterable<Buffer>) got += c.length;
      return `read the properties and first ${got} bytes of one blob`;
    } catch (e) {
      throw mapAzureError(e, this.ctx({ key: o.key, right: 'r' }));
    }
  }

  async check(opts: CheckOptions): Promise<Check[]> {
    const checks: Check[] = [];
    const failed = (name: Check['name'], err: CloudportError): Check => ({ name, status: 'failed', detail: err.message, fix: err.fix, kind: err.kind, ...(err.field ? { field: err.field } : {}), ...(err.temporary ? { temporary: true } : {}) });
    const writeStep = async () => {
      if (!opts.write) return writeSkipped(opts);
      return [await writeProbeCheck(this, opts, (err) => err.fix)];
    };
    // auth + list: one page of the listing tells both (a rejected key or SAS fails auth; a missing right fails list).
    let objects: ObjectInfo[];
    try {
      const page = await this.list({ prefix: '', maxKeys: 20, signal: opts.signal });
      objects = page.objects;
      checks.push({ name: 'auth', status: 'passed', detail: 'credentials accepted' });
      checks.push({ name: 'list', status: 'passed', detail: objects.length ? `listed ${objects.length}${page.nextToken ? '+' : ''} blobs` : 'container is empty' });
    } catch (e) {
      const err = e as CloudportError;
      // Rejected credentials, an unreachable endpoint or throttling: nothing was proven about rights.
      if (err.field?.startsWith('credentials') || err.field === this.errorCtx.endpointField || err.kind === 'unexpected' || isUnreachable(err) || err.kind === 'rate_limited') {
        checks.push(failed('auth', err));
        checks.push({ name: 'list', status: 'skipped', detail: 'skipped: auth failed' });
        checks.push({ name: 'read', status: 'skipped', detail: 'skipped: auth failed' });
        if (opts.write) checks.push({ name: 'write', status: 'skipped', detail: 'skipped: auth failed' });
        else checks.push(...writeSkipped(opts));
        return checks;
      }
      checks.push({ name: 'auth', status: 'passed', detail: 'credentials accepted' });
      checks.push(failed('list', err));
      checks.push({ name: 'read', status: 'skipped', detail: 'skipped: listing failed (no blob to read is known)' });
      // A write-only SAS (export) still gets its write check.
      checks.push(...(err.kind === 'not_found' ? (opts.write ? [{ name: 'write' as const, status: 'skipped' as const, detail: 'skipped: the container does not exist' }] : writeSkipped(opts)) : await writeStep()));
      return checks;
    }
    const readable = objects.filter((o) => o.storage_class !== 'Archive');
    const first = readable.find((o) => o.size > 0) ?? readable[0] ?? objects[0];
    if (first) {
      try {
        checks.push({ name: 'read', status: 'passed', detail: await this.readProbe(first, opts.signal) });
      } catch (e) {
        checks.push(failed('read', e as CloudportError));
      }
    } else if (this.errorCtx.auth === 'sas' && this.errorCtx.sas?.sp && !this.errorCtx.sas.sp.includes('r')) {
      // Nothing to read, but the SAS itself says it cannot read.
      checks.push({ name: 'read', status: 'failed', kind: 'permission_denied', detail: `the SAS lacks the read right ("r"; it grants sp=${this.errorCtx.sas.sp})`, fix: 'Issue a SAS whose permissions (sp) include "r": the read right.' });
    } else {
      checks.push({ name: 'read', status: 'skipped', detail: 'skipped: no blob to read (the container is empty)' });
    }
    checks.push(...(await writeStep()));
    return checks;
  }

  close(): void {
    this.clients.close();
  }
}
