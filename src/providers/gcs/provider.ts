import type http from 'node:http';
import { createRequire } from 'node:module';
import { PassThrough, type Readable } from 'node:stream';
import { Storage, type Bucket, type File } from '@google-cloud/storage';
import { CloudportError } from '../../shared/errors.js';
import type { Check, CheckOptions, ListPage, ListRequest, LocationConfig, ObjectInfo, ProviderContext, ReadRequest, ReadResult, ResolvedCredentials, StorageProvider } from '../types.js';
import { ROLE_FOR, mapGcsError } from './errors.js';
import { parseServiceAccount } from './service-account.js';
import { writeProbeCheck, writeSkipped } from '../checks.js';

interface GcsMeta {
  name?: string;
  size?: string | number;
  updated?: string;
  etag?: string;
  generation?: string | number;
  storageClass?: string;
}

/**
 * @google-cloud/storage 7 sends its requests through teeny-request, which takes agents from a
 * module-level pool. When the endpoint policy supplies a lookup (HTTP mode, one policy per process),
 * the pool is seeded with agents that use it, so GCS sockets get the same connect-time DNS check.
 */
let seeded: ProviderContext['agents'] | null = null;
function seedAgentPool(agents: NonNullable<ProviderContext['agents']>): void {
  if (seeded === agents) return;
  // Resolved from @google-cloud/storage's own location, so it is the very module instance the client uses.
  const fromStorage = createRequire(createRequire(import.meta.url).resolve('@google-cloud/storage'));
  const { pool } = fromStorage('teeny-request/build/src/agents.js') as { pool: Map<string, http.Agent> };
  pool.set('http', agents.http);
  pool.set('https', agents.https);
  pool.set('http:forever', agents.http);
  pool.set('https:forever', agents.https);
  seeded = agents;
}

export class GcsProvider implements StorageProvider {
  readonly capabilities = { delimiter: true, rangedRead: true, write: true, maxPageSize: 1000 };
  private readonly storage: Storage;
  private readonly bucket: Bucket;

  constructor(
    private readonly loc: LocationConfig,
    creds: ResolvedCredentials,
    ctx: ProviderContext,
  ) {
    if (ctx.agents) seedAgentPool(ctx.agents);
    const sa = creds.type === 'service_account' ? parseServiceAccount(String(creds.json)) : null;
    const projectId = (loc.project_id as string | undefined) ?? sa?.project_id;
    this.storage = new Storage({
      ...(projectId ? { projectId } : {}),
      ...(loc.endpoint ? { apiEndpoint: loc.endpoint } : {}),
      ...(sa ? { credentials: { client_email: sa.client_email, private_key: sa.private_key } } : {}),
      // cloudport's own retry layer retries (with backoff and ranged resume).
      retryOptions: { autoRetry: false, maxRetries: 0 },
    });
    this.bucket = this.storage.bucket(loc.bucket);
  }

  private ctx(extra: { key?: string; permission?: string } = {}) {
    return { bucket: this.loc.bucket, endpoint: this.loc.endpoint, ...extra };
  }

  private toInfo(m: GcsMeta): ObjectInfo {
    const info: ObjectInfo = {
      key: m.name ?? '',
      size: Number(m.size ?? 0),
      last_modified: m.updated ?? null,
      etag: m.etag ?? null,
      version: String(m.generation ?? ''),
    };
    if (m.storageClass && !['STANDARD', 'MULTI_REGIONAL', 'REGIONAL'].includes(m.storageClass)) info.storage_class = m.storageClass;
    return info;
  }

  async list(req: ListRequest): Promise<ListPage> {
    try {
      const [files, next, raw] = await this.bucket.getFiles({
        prefix: req.prefix || undefined,
        delimiter: req.delimiter,
        maxResults: Math.min(req.maxKeys ?? 1000, 1000),
        pageToken: req.token ?? undefined,
        autoPaginate: false,
      });
      const prefixes = ((raw as { prefixes?: string[] } | undefined)?.prefixes ?? []).filter(Boolean);
      return {
        objects: files.map((f: File) => this.toInfo(f.metadata as GcsMeta)),
        folders: prefixes,
        nextToken: (next as { pageToken?: string } | null)?.pageToken ?? null,
      };
    } catch (e) {
      throw mapGcsError(e, this.ctx({ permission: 'storage.objects.list' }));
    }
  }

  async stat(key: string): Promise<ObjectInfo> {
    try {
      const [m] = await this.bucket.file(key).getMetadata();
      return this.toInfo(m as GcsMeta);
    } catch (e) {
      throw mapGcsError(e, this.ctx({ key, permission: 'storage.objects.get' }));
    }
  }

  async read(key: string, req: ReadRequest = {}): Promise<ReadResult> {
    const offset = req.offset ?? 0;
    // Pinning the generation makes a resumed read fail (404) rather than mix two versions.
    const file = this.bucket.file(key, req.ifVersion ? { generation: Number(req.ifVersion) } : {});
    const stream = file.createReadStream({ ...(offset > 0 ? { start: offset } : {}), validation: false });
    // The client sends its request on the first read: piping starts it, with backpressure kept.
    const body = new PassThrough();
    // Consumers see errors through iteration; this listener keeps an unread failure from crashing the process.
    body.on('error', () => undefined);
    stream.on('error', (e) => body.destroy(e));
    stream.pipe(body);
    try {
      const res = await new Promise<{ headers: Record<string, string> }>((resolve, reject) => {
        // Error answers also emit 'response'; their error event follows and rejects.
        stream.once('response', (r: { statusCode?: number; headers: Record<string, string> }) => {
          if ((r.statusCode ?? 200) < 300) resolve(r);
        });
        stream.once('error', reject);
        req.signal?.addEventListener('abort', () => stream.destroy(new Error('aborted')), { once: true });
      });
      const h = res.headers;
      const length = Number(h['content-length'] ?? 0);
      const range = /\/(\d+)$/.exec(h['content-range'] ?? '');
      const size = range ? Number(range[1]) : Number(h['x-goog-stored-content-length'] ?? offset + length);
      const version = String(h['x-goog-generation'] ?? req.ifVersion ?? '');
      return { body, length, size, content_type: h['content-type'], version, etag: h.etag ?? null };
    } catch (e) {
      stream.destroy();
      body.destroy();
      if (req.ifVersion && (e as { code?: number }).code === 404) {
        throw new CloudportError('conflict', `object ${JSON.stringify(key)} changed while it was being read`, { temporary: true });
      }
      throw mapGcsError(e, this.ctx({ key, permission: 'storage.objects.get' }));
    }
  }

  async write(key: string, body: Buffer | Readable, opts: { contentType?: string } = {}): Promise<void> {
    try {
      const file = this.bucket.file(key);
      if (Buffer.isBuffer(body)) await file.save(body, { resumable: false, contentType: opts.contentType, validation: 'crc32c' });
      else
        await new Promise<void>((resolve, reject) => {
          body.pipe(file.createWriteStream({ resumable: true, contentType: opts.contentType, validation: 'crc32c' })).on('finish', resolve).on('error', reject);
        });
    } catch (e) {
      throw mapGcsError(e, this.ctx({ key, permission: 'storage.objects.create' }));
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.bucket.file(key).delete();
    } catch (e) {
      throw mapGcsError(e, this.ctx({ key, permission: 'storage.objects.delete' }));
    }
  }

  async check(opts: CheckOptions): Promise<Check[]> {
    const checks: Check[] = [];
    const skipRest = (why: string) => {
      for (const name of ['list', 'read'] as const) if (!checks.some((c) => c.name === name)) checks.push({ name, status: 'skipped', detail: `skipped: ${why}` });
      if (opts.write && !checks.some((c) => c.name === 'write')) checks.push({ name: 'write', status: 'skipped', detail: `skipped: ${why}` });
      return checks;
    };
    const wanted = ['storage.objects.list', 'storage.objects.get', 'storage.objects.create', 'storage.objects.delete'];
    let granted: Set<string>;
    try {
      const [perms] = await this.bucket.iam.testPermissions(wanted);
      granted = new Set(Object.entries(perms).filter(([, ok]) => ok).map(([p]) => p));
      checks.push({ name: 'auth', status: 'passed', detail: 'credentials accepted' });
    } catch (e) {
      const err = mapGcsError(e, this.ctx());
      checks.push({ name: 'auth', status: 'failed', detail: err.message, fix: err.fix, kind: err.kind });
      return skipRest('auth failed');
    }
    const missing = (perm: string) => ({ detail: `missing permission ${perm}`, fix: `Grant ${perm} (role ${ROLE_FOR[perm]}) on bucket ${this.loc.bucket} to these credentials.`, kind: 'permission_denied' as const });
    let first: ObjectInfo | undefined;
    if (!granted.has('storage.objects.list')) checks.push({ name: 'list', status: 'failed', ...missing('storage.objects.list') });
    else {
      try {
        const page = await this.list({ prefix: '', maxKeys: 20 });
        first = page.objects.find((o) => o.size > 0);
        checks.push({ name: 'list', status: 'passed', detail: page.objects.length ? `listed ${page.objects.length}${page.nextToken ? '+' : ''} objects` : 'bucket is empty' });
      } catch (e) {
        const err = mapGcsError(e, this.ctx({ permission: 'storage.objects.list' }));
        checks.push({ name: 'list', status: 'failed', detail: err.message, fix: err.fix, kind: err.kind });
      }
    }
    if (!granted.has('storage.objects.get')) checks.push({ name: 'read', status: 'failed', ...missing('storage.objects.get') });
    else if (!first) checks.push({ name: 'read', status: 'skipped', detail: checks.some((c) => c.status === 'failed') ? 'skipped: listing failed' : 'skipped: no object to read' });
    else {
      try {
        const r = await this.read(first.key, { offset: first.size - 1 });
        r.body.destroy();
        checks.push({ name: 'read', status: 'passed', detail: 'read one object' });
      } catch (e) {
        const err = mapGcsError(e, this.ctx({ permission: 'storage.objects.get' }));
        checks.push({ name: 'read', status: 'failed', detail: err.message, fix: err.fix, kind: err.kind });
      }
    }
    if (!opts.write) return [...checks, ...writeSkipped(opts)];
    for (const perm of ['storage.objects.create', 'storage.objects.delete']) {
      if (!granted.has(perm)) {
        checks.push({ name: 'write', status: 'failed', ...missing(perm) });
        return checks;
      }
    }
    checks.push(await writeProbeCheck(this, opts, (err) => err.fix));
    return checks;
  }

  close(): void {
    // The client keeps no sockets of its own (pooled agents); nothing to release.
  }
}
