import type { Readable } from 'node:stream';
import http from 'node:http';
import https from 'node:https';
import { AnonymousCredential, BlobServiceClient, ContainerClient, StorageSharedKeyCredential, newPipeline, type BlobItem, type Pipeline } from '@azure/storage-blob';
import { DefaultAzureCredential } from '@azure/identity';
import { createDefaultHttpClient, type HttpClient, type PipelineRequest } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/core-auth';
import { CloudportError } from '../../shared/errors.js';
import type { Check, CheckOptions, ListPage, ListRequest, LocationConfig, ObjectInfo, ProviderContext, ReadRequest, ReadResult, ResolvedCredentials, StorageProvider } from '../types.js';
import { mapAzureError } from './errors.js';
import { writeProbeCheck, writeSkipped } from '../checks.js';

const unquote = (etag: string | undefined) => (etag ? etag.replace(/^"|"$/g, '') : null);

/** The account's blob endpoint: explicit, or https://<account>.blob.core.windows.net. */
export function accountUrl(loc: LocationConfig): string {
  if (loc.endpoint) return loc.endpoint.replace(/\/$/, '');
  if (typeof loc.account_name === 'string') return `https://${loc.account_name}.blob.core.windows.net`;
  throw new CloudportError('config_invalid', 'azure_blob needs account_name or endpoint (or a connection string / SAS URL that carries it)', { field: 'account_name' });
}

/** The account name: explicit, or the first path segment of an emulator-style endpoint, or the host's first label. */
export function accountName(loc: LocationConfig): string | undefined {
  if (typeof loc.account_name === 'string') return loc.account_name;
  if (!loc.endpoint) return undefined;
  const u = new URL(loc.endpoint);
  const seg = u.pathname.split('/').filter(Boolean)[0];
  return seg ?? u.hostname.split('.')[0];
}

function parseConnectionString(cs: string): Record<string, string> {
  return Object.fromEntries(
    cs
      .split(';')
      .filter(Boolean)
      .map((p) => [p.slice(0, p.indexOf('=')).toLowerCase(), p.slice(p.indexOf('=') + 1)]),
  );
}

/**
 * Every client is built on an explicit pipeline whose HTTP client attaches our agent to each
 * request, so the endpoint policy's DNS check (ProviderContext.lookup) applies to Azure's sockets too.
 */
function pipelineFor(credential: StorageSharedKeyCredential | AnonymousCredential | TokenCredential, ctx: ProviderContext): Pipeline {
  const pipeline = newPipeline(credential, { retryOptions: { maxTries: 1 } });
  if (ctx.agents || ctx.lookup) {
    const agents = ctx.agents ?? {
      http: new http.Agent({ keepAlive: true, maxSockets: ctx.maxSockets, lookup: ctx.lookup }),
      https: new https.Agent({ keepAlive: true, maxSockets: ctx.maxSockets, lookup: ctx.lookup }),
    };
    const inner = createDefaultHttpClient();
    const client: HttpClient = {
      sendRequest: (request: PipelineRequest) => {
        request.agent = request.url.startsWith('https:') ? agents.https : agents.http;
        return inner.sendRequest(request);
      },
    };
    (pipeline as unknown as { _coreHttpClient: HttpClient })._coreHttpClient = client;
  }
  return pipeline;
}

function containerClient(loc: LocationConfig, creds: ResolvedCredentials, ctx: ProviderContext): ContainerClient {
  const container = loc.bucket;
  const service = (url: string, credential: StorageSharedKeyCredential | AnonymousCredential | TokenCredential) =>
    new BlobServiceClient(url, pipelineFor(credential, ctx)).getContainerClient(container);
  switch (creds.type) {
    case 'connection_string': {
      const cs = parseConnectionString(String(creds.connection_string));
      const url = (cs.blobendpoint ?? `${cs.defaultendpointsprotocol ?? 'https'}://${cs.accountname}.blob.${cs.endpointsuffix ?? 'core.windows.net'}`).replace(/\/$/, '');
      if (cs.sharedaccesssignature) return service(`${url}?${cs.sharedaccesssignature.replace(/^\?/, '')}`, new AnonymousCredential());
      if (!cs.accountname || !cs.accountkey) throw new CloudportError('config_invalid', 'the connection string needs AccountName and AccountKey (or SharedAccessSignature)', { field: 'credentials.connection_string' });
      return service(url, new StorageSharedKeyCredential(cs.accountname, cs.accountkey));
    }
    case 'account_key': {
      const name = accountName(loc);
      if (!name) throw new CloudportError('config_invalid', 'account_key credentials need account_name', { field: 'account_name' });
      return service(accountUrl(loc), new StorageSharedKeyCredential(name, String(creds.account_key)));
    }
    case 'sas': {
      if (creds.sas_url) {
        const u = new URL(String(creds.sas_url));
        const path = u.pathname.split('/').filter(Boolean);
        // A container SAS URL points at the container itself; a service SAS URL at the account.
        if (path[path.length - 1] === container) return new ContainerClient(u.toString(), pipelineFor(new AnonymousCredential(), ctx));
        return service(u.toString(), new AnonymousCredential());
      }
      return service(`${accountUrl(loc)}?${String(creds.sas_token).replace(/^\?/, '')}`, new AnonymousCredential());
    }
    case 'default':
      return service(accountUrl(loc), new DefaultAzureCredential());
    default:
      throw new CloudportError('config_invalid', `credentials type ${JSON.stringify(creds.type)} is not supported for azure_blob`, { field: 'credentials.type' });
  }
}

export class AzureBlobProvider implements StorageProvider {
  readonly capabilities = { delimiter: true, rangedRead: true, write: true, maxPageSize: 5000 };
  private readonly container: ContainerClient;

  constructor(
    private readonly loc: LocationConfig,
    creds: ResolvedCredentials,
    ctx: ProviderContext,
  ) {
    this.container = containerClient(loc, creds, ctx);
  }

  private ctx(extra: { key?: string; right?: 'l' | 'r' | 'w' | 'd' } = {}) {
    return { container: this.loc.bucket, endpoint: this.loc.endpoint, ...extra };
  }

  private toInfo(b: BlobItem): ObjectInfo {
    const etag = unquote(b.properties.etag);
    const info: ObjectInfo = {
      key: b.name,
      size: Number(b.properties.contentLength ?? 0),
      last_modified: b.properties.lastModified?.toISOString() ?? null,
      etag,
      version: etag ?? '',
    };
    if (b.properties.accessTier === 'Archive') info.storage_class = 'ARCHIVE';
    return info;
  }

  async list(req: ListRequest): Promise<ListPage> {
    const settings = { maxPageSize: Math.min(req.maxKeys ?? 1000, 5000), ...(req.token ? { continuationToken: req.token } : {}) };
    try {
      if (req.delimiter) {
        const it = this.container.listBlobsByHierarchy(req.delimiter, { prefix: req.prefix || undefined }).byPage(settings);
        const page = (await it.next()).value;
        return {
          objects: (page?.segment.blobItems ?? []).map((b: BlobItem) => this.toInfo(b)),
          folders: (page?.segment.blobPrefixes ?? []).map((p: { name: string }) => p.name),
          nextToken: page?.continuationToken || null,
        };
      }
      const it = this.container.listBlobsFlat({ prefix: req.prefix || undefined }).byPage(settings);
      const page = (await it.next()).value;
      return { objects: (page?.segment.blobItems ?? []).map((b: BlobItem) => this.toInfo(b)), folders: [], nextToken: page?.continuationToken || null };
    } catch (e) {
      throw mapAzureError(e, this.ctx({ right: 'l' }));
    }
  }

  async stat(key: string): Promise<ObjectInfo> {
    try {
      const p = await this.container.getBlobClient(key).getProperties();
      const etag = unquote(p.etag);
      const info: ObjectInfo = { key, size: Number(p.contentLength ?? 0), last_modified: p.lastModified?.toISOString() ?? null, etag, version: etag ?? '' };
      if (p.accessTier === 'Archive') info.storage_class = 'ARCHIVE';
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
      return { body, length, size: range ? Number(range[1]) : offset + length, content_type: r.contentType, etag, version: etag ?? '' };
    } catch (e) {
      throw mapAzureError(e, this.ctx({ key, right: 'r' }));
    }
  }

  async write(key: string, body: Buffer | Readable, opts: { contentType?: string } = {}): Promise<void> {
    try {
      const blob = this.container.getBlockBlobClient(key);
      const headers = opts.contentType ? { blobContentType: opts.contentType } : undefined;
      if (Buffer.isBuffer(body)) await blob.uploadData(body, { blobHTTPHeaders: headers });
      else await blob.uploadStream(body, 8 * 1024 * 1024, 4, { blobHTTPHeaders: headers });
    } catch (e) {
      throw mapAzureError(e, this.ctx({ key, right: 'w' }));
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.container.getBlobClient(key).delete();
    } catch (e) {
      throw mapAzureError(e, this.ctx({ key, right: 'd' }));
    }
  }

  async check(opts: CheckOptions): Promise<Check[]> {
    const checks: Check[] = [];
    let first: ObjectInfo | undefined;
    try {
      const page = await this.list({ prefix: '', maxKeys: 20 });
      first = page.objects.find((o) => o.size > 0);
      checks.push({ name: 'auth', status: 'passed', detail: 'credentials accepted' });
      checks.push({ name: 'list', status: 'passed', detail: page.objects.length ? `listed ${page.objects.length}${page.nextToken ? '+' : ''} blobs` : 'container is empty' });
    } catch (e) {
      const err = e as CloudportError;
      if (err.field === 'credentials' || err.field === 'endpoint' || err.kind === 'unexpected') {
        checks.push({ name: 'auth', status: 'failed', detail: err.message, fix: err.fix, kind: err.kind });
        checks.push({ name: 'list', status: 'skipped', detail: 'skipped: auth failed' });
      } else {
        checks.push({ name: 'auth', status: 'passed', detail: 'credentials accepted' });
        checks.push({ name: 'list', status: 'failed', detail: err.message, fix: err.fix, kind: err.kind });
      }
      checks.push({ name: 'read', status: 'skipped', detail: 'skipped: listing failed' });
      if (opts.write) checks.push({ name: 'write', status: 'skipped', detail: 'skipped: listing failed' });
      return checks;
    }
    if (!first) checks.push({ name: 'read', status: 'skipped', detail: 'skipped: no blob to read' });
    else {
      try {
        const r = await this.read(first.key, { offset: first.size - 1 });
        r.body.destroy();
        checks.push({ name: 'read', status: 'passed', detail: 'read one blob' });
      } catch (e) {
        const err = e as CloudportError;
        checks.push({ name: 'read', status: 'failed', detail: err.message, fix: err.fix, kind: err.kind });
      }
    }
    if (!opts.write) return [...checks, ...writeSkipped(opts)];
    checks.push(await writeProbeCheck(this, opts, (err) => err.fix));
    return checks;
  }

  close(): void {
    // The SDK's pipeline keeps no per-client sockets to release.
  }
}
