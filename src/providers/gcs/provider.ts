import type http from 'node:http';
import { createRequire } from 'node:module';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Storage, type Bucket, type File } from '@google-cloud/storage';
import { CloudportError, ObjectExistsError } from '../../shared/errors.js';
import type { Check, CheckOptions, ListPage, ListRequest, LocationConfig, ObjectInfo, ProviderContext, ReadRequest, ReadResult, ResolvedCredentials, StorageProvider, WriteOptions } from '../types.js';
import { grantFix, mapGcsError } from './errors.js';
import { parseServiceAccount } from '../google-service-account.js';
import { DEFAULT_IDLE_TIMEOUT_MS, idleAgents } from '../idle-agents.js';
import { writeProbeCheck, writeSkipped } from '../checks.js';

interface GcsMeta {
  name?: string;
  size?: string | number;
  updated?: string;
  etag?: string;
  generation?: string | number;
  storageClass?: string;
  metadata?: Record<string, unknown> | null;
}

/** Below this a Buffer goes up in one multipart request; from it on, a resumable upload. */
const RESUMABLE_FROM = 8 * 1024 * 1024;
/** A buffered write goes to the upload in pieces of this size: its write watchdog sees each one move. */
const WATCH_PIECE = 256 * 1024;

/** The buffer's bytes in views of at most `size` bytes (no copies). */
function* pieces(buf: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < buf.length; at += size) yield buf.subarray(at, Math.min(buf.length, at + size));
  if (buf.length === 0) yield buf;
}

/** Storage classes that are GCS's standard tier (the legacy names included): not reported. */
const STANDARD_CLASSES = new Set(['STANDARD', 'MULTI_REGIONAL', 'REGIONAL', 'DURABLE_REDUCED_AVAILABILITY']);
const PERMISSIONS = { list: 'storage.objects.list', get: 'storage.objects.get', create: 'storage.objects.create', delete: 'storage.objects.delete' } as const;

/**
 * Whether the client sends credentials (an OAuth bearer token) to `endpoint`. The default endpoint
 * and https endpoints on googleapis.com (Private Service Connect, restricted/private.googleapis.com)
 * get them; plain http (emulators, our loopback test server) and other hosts never do: a bearer
 * token is usable by whoever receives it, so it must not go over plain text or to a third party.
 */
export function sendsCredentials(endpoint: string | null | undefined): boolean {
  if (!endpoint) return true;
  try {
    const u = new URL(endpoint);
    return u.protocol === 'https:' && /(^|\.)googleapis\.com$/i.test(u.hostname);
  } catch {
    return false;
  }
}

/**
 * @google-cloud/storage 7 sends its requests through teeny-request, which takes agents from a
 * module-level pool. It is seeded with the endpoint policy's agents (HTTP mode, one policy per process),
 * so GCS sockets get the same connect-time checks, or else with this process's idle-timeout agents.
 */
let seeded: ProviderContext['agents'] | null = null;
/** This process's agents for GCS clients given none by the endpoint policy. */
let ownAgents: NonNullable<ProviderContext['agents']> | undefined;
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

type Interceptor = File['interceptors'][number];
/** A request interceptor that edits the client's request options in place (its d.ts types them loosely). */
function interceptor(edit: (opts: Record<string, unknown>) => void): Interceptor {
  return {
    request: (o) => {
      edit(o as unknown as Record<string, unknown>);
      return o as unknown as ReturnType<Interceptor['request']>;
    },
  };
}

const abortError = (signal: AbortSignal) =>
  signal.reason instanceof Error ? signal.reason : new CloudportError('unexpected', 'the request was aborted', { temporary: true });

export class GcsProvider implements StorageProvider {
  readonly capabilities = { delimiter: true, rangedRead: true, write: true, maxPageSize: 1000, contentEtag: true, readAnswersAtHeaders: true, readTimesOut: false };
  private readonly storage: Storage;
  private readonly bucket: Bucket;
  private readonly authenticated: boolean;
  private readonly idleTimeoutMs: number;

  constructor(
    private readonly loc: LocationConfig,
    creds: ResolvedCredentials,
    ctx: ProviderContext,
  ) {
    // The client's requests have no idle timeout of their own: without the endpoint policy's agents, agents
    // that close a socket idle for idleTimeoutMs (one pair per process: teeny-request's pool is the module's).
    this.idleTimeoutMs = ctx.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    const agents = ctx.agents ?? (ownAgents ??= idleAgents({ maxSockets: ctx.maxSockets, idleTimeoutMs: this.idleTimeoutMs }));
    seedAgentPool(agents);
    // Throws config_invalid naming credentials.json when the text is not a service account key.
    const sa = creds.type === 'service_account' ? parseServiceAccount(typeof creds.json === 'string' ? creds.json : '') : null;
    const projectId = (loc.project_id as string | undefined) ?? sa?.project_id;
    this.authenticated = sendsCredentials(loc.endpoint);
    this.storage = new Storage({
      ...(projectId ? { projectId } : {}),
      ...(loc.endpoint ? { apiEndpoint: loc.endpoint, useAuthWithCustomEndpoint: this.authenticated } : {}),
      // Only client_email and private_key: the auth library signs its own token request and never
      // contacts a token_uri from the key file (that one is shown and policy-checked regardless).
      ...(sa ? { credentials: { client_email: sa.client_email, private_key: sa.private_key } } : {}),
      // cloudport's own retry layer retries (with backoff, Retry-After and ranged resume).
      retryOptions: { autoRetry: false, maxRetries: 0 },
    });
    {
      // Resumable uploads go through the auth library's gaxios, which ignores teeny-request's pool but
      // takes the request interceptors' output as its options: give it the same agents.
      const { http: httpAgent, https: httpsAgent } = agents;
      this.storage.interceptors.push(interceptor((o) => (o.agent = (u: URL) => (u.protocol === 'http:' ? httpAgent : httpsAgent))));
    }
    this.bucket = this.storage.bucket(loc.bucket);
  }

  private ctx(extra: { key?: string; permission?: string } = {}) {
    return { bucket: this.loc.bucket, endpoint: this.loc.endpoint, authenticated: this.authenticated, ...extra };
  }

  private toInfo(m: GcsMeta): ObjectInfo {
    const info: ObjectInfo = {
      key: m.name ?? '',
      size: Number(m.size ?? 0),
      last_modified: m.updated ?? null,
      etag: m.etag ?? null,
      version: String(m.generation ?? ''),
    };
    if (m.storageClass && !STANDARD_CLASSES.has(m.storageClass)) info.storage_class = m.storageClass;
    if (typeof m.metadata?.sha256 === 'string') info.sha256 = m.metadata.sha256;
    return info;
  }

  async list(req: ListRequest): Promise<ListPage> {
    if (req.signal?.aborted) throw abortError(req.signal);
    try {
      const [files, next, raw] = await this.bucket.getFiles({
        prefix: req.prefix || undefined,
        delimiter: req.delimiter || undefined,
        maxResults: Math.max(1, Math.min(req.maxKeys ?? 1000, 1000)),
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
      throw mapGcsError(e, this.ctx({ permission: PERMISSIONS.list }));
    }
  }

  async stat(key: string, signal?: AbortSignal): Promise<ObjectInfo> {
    if (signal?.aborted) throw abortError(signal);
    try {
      const [m] = await this.bucket.file(key).getMetadata();
      return this.toInfo(m as GcsMeta);
    } catch (e) {
      throw mapGcsError(e, this.ctx({ key, permission: PERMISSIONS.get }));
    }
  }

  async read(key: string, req: ReadRequest = {}): Promise<ReadResult> {
    const offset = req.offset ?? 0;
    const signal = req.signal;
    if (signal?.aborted) throw abortError(signal);
    const file = this.bucket.file(key);
    if (req.ifVersion) {
      // Fail (412) unless the live object is still this generation, so a resumed read never mixes two
      // versions (a pinned `generation` would instead read an old version on a versioned bucket).
      const ifGenerationMatch = req.ifVersion;
      file.interceptors.push(interceptor((o) => (o.qs = { ...(o.qs as object | undefined), ifGenerationMatch })));
    }
    // decompress: false delivers the stored bytes, so lengths, sizes and offsets all count the same
    // bytes (a gzip-encoded object would otherwise grow past its listed size while being read).
    const stream = file.createReadStream({ ...(offset > 0 ? { start: offset } : {}), validation: false, decompress: false });
    // The client sends its request on the first read: piping starts it, with backpressure kept.
    const body = new PassThrough();
    // Consumers see errors through iteration; this listener keeps an unread failure from crashing the process.
    body.on('error', () => undefined);
    let answered = false;
    let rejectPending: ((e: unknown) => void) | null = null;
    // Before the answer, destroying the client's stream makes @google-cloud/storage destroy the (shared)
    // agent when the answer comes, stalling every other download on it: a late answer is drained into
    // nothing instead.
    const drain = () => {
      stream.unpipe(body);
      stream.on('error', () => undefined);
      stream.resume();
    };
    const onAbort = () => {
      if (answered) return void stream.destroy(abortError(signal!));
      drain();
      body.destroy(abortError(signal!));
      rejectPending?.(abortError(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    body.once('close', () => signal?.removeEventListener('abort', onAbort));
    stream.on('error', (e) => body.destroy(e));
    stream.pipe(body);
    try {
      const res = await new Promise<{ statusCode?: number; headers: Record<string, string> }>((resolve, reject) => {
        rejectPending = reject;
        // Error answers also emit 'response'; their error event follows and rejects.
        stream.once('response', (r: { statusCode?: number; headers: Record<string, string> }) => {
          answered = true;
          if ((r.statusCode ?? 200) < 300) resolve(r);
        });
        stream.once('error', reject);
      });
      const h = res.headers;
      if (offset > 0 && res.statusCode === 200) {
        throw new CloudportError('conflict', `object ${JSON.stringify(key)}: the server ignored the byte range`, { temporary: true });
      }
      const contentLength = h['content-length'] !== undefined ? Number(h['content-length']) : undefined;
      const range = /\/(\d+)$/.exec(h['content-range'] ?? '');
      const stored = h['x-goog-stored-content-length'] !== undefined ? Number(h['x-goog-stored-content-length']) : undefined;
      const size = range ? Number(range[1]) : (stored ?? offset + (contentLength ?? 0));
      const length = contentLength ?? size - offset;
      const version = String(h['x-goog-generation'] ?? req.ifVersion ?? '');
      const out: ReadResult = { body, length, size, version, etag: h.etag ?? null };
      if (h['content-type']) out.content_type = h['content-type'];
      // x-goog-hash carries the whole object's (stored bytes') crc32c and, unless composite, md5;
      // they do not describe a body the service decompressed on the way (transcoding).
      const storedEncoding = h['x-goog-stored-content-encoding'] ?? 'identity';
      const checksums = storedEncoding === 'identity' || h['content-encoding'] === storedEncoding ? parseGoogHash(h['x-goog-hash']) : undefined;
      if (checksums) out.checksums = checksums;
      return out;
    } catch (e) {
      if (answered) stream.destroy();
      else drain();
      body.destroy();
      if (signal?.aborted) throw abortError(signal);
      throw mapGcsError(e, this.ctx({ key, permission: PERMISSIONS.get }));
    }
  }

  async write(key: string, body: Buffer | Readable, opts: WriteOptions = {}): Promise<void> {
    const file = this.bucket.file(key);
    const contentType = opts.contentType ?? 'application/octet-stream';
    // md5Hash in the upload's metadata: GCS creates the object only if the bytes match it. The
    // sha256 is kept as custom metadata; ifGenerationMatch: 0 makes "create only" atomic.
    const metadata = { contentType, ...(opts.md5 ? { md5Hash: opts.md5 } : {}), ...(opts.sha256 ? { metadata: { sha256: opts.sha256 } } : {}) };
    const preconditionOpts = opts.ifAbsent ? { preconditionOpts: { ifGenerationMatch: 0 } } : {};
    // A write that moves no byte and gets no answer for idleTimeoutMs is aborted as temporary. A
    // connection closed after the answer's headers leaves the client's upload stream neither ended nor
    // failed, and a closed socket never goes idle: without this the write would wait for ever.
    const watch = new AbortController();
    const stop = () => watch.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', stop, { once: true });
    const timer = setTimeout(() => watch.abort(new CloudportError('unexpected', `no byte of the write of ${JSON.stringify(key)} moved and no answer came for ${this.idleTimeoutMs} ms (the connection closed or went silent)`, { temporary: true })), this.idleTimeoutMs);
    const arm = () => void timer.refresh();
    const moving = new PassThrough({
      transform(chunk, _enc, done) {
        arm();
        done(null, chunk);
      },
    });
    try {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      // The client checks the crc32c the service reports against the bytes it sent.
      const resumable = Buffer.isBuffer(body) ? body.length >= RESUMABLE_FROM : true;
      // A buffer goes in pieces, so the watchdog sees its bytes move as the upload takes them.
      await pipeline(Buffer.isBuffer(body) ? Readable.from(pieces(body, WATCH_PIECE)) : body, moving, file.createWriteStream({ resumable, contentType, metadata, validation: 'crc32c', ...preconditionOpts }), { signal: watch.signal });
    } catch (e) {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      if (watch.signal.reason instanceof CloudportError) throw watch.signal.reason;
      if (opts.ifAbsent && (e as { code?: unknown }).code === 412) throw new ObjectExistsError(`object ${JSON.stringify(key)}`);
      throw mapGcsError(e, this.ctx({ key, permission: PERMISSIONS.create }));
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', stop);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.bucket.file(key).delete();
    } catch (e) {
      throw mapGcsError(e, this.ctx({ key, permission: PERMISSIONS.delete }));
    }
  }

  /**
   * auth: testIamPermissions on the bucket (a rejected credential fails it; it also tells which of
   * list / get / create / delete are granted); list: one page; read: the last byte of one object;
   * write: a probe written and deleted under the export base path.
   */
  async check(opts: CheckOptions): Promise<Check[]> {
    const checks: Check[] = [];
    const failed = (name: Check['name'], err: CloudportError, fix = err.fix): Check => ({ name, status: 'failed', detail: err.message, ...(fix ? { fix } : {}), kind: err.kind, ...(err.field ? { field: err.field } : {}), ...(err.temporary ? { temporary: true } : {}) });
    const missing = (name: Check['name'], perm: string): Check => ({ name, status: 'failed', detail: `missing permission ${perm}`, fix: grantFix(perm, this.loc.bucket), kind: 'permission_denied' });
    const skip = (name: Check['name'], why: string): Check => ({ name, status: 'skipped', detail: `skipped: ${why}` });
    const rest = (why: string) => {
      checks.push(skip('list', why), skip('read', why));
      checks.push(...(opts.write ? [skip('write', why)] : writeSkipped(opts)));
      return checks;
    };

    // null: the permissions could not be asked for (then the list / read calls themselves tell).
    let granted: Set<string> | null = null;
    try {
      const [perms] = await this.bucket.iam.testPermissions(Object.values(PERMISSIONS));
      granted = new Set(Object.entries(perms).filter(([, ok]) => ok).map(([p]) => p));
      checks.push({ name: 'auth', status: 'passed', detail: 'credentials accepted' });
    } catch (e) {
      const err = mapGcsError(e, this.ctx());
      const authFailed = err.kind === 'unexpected' || err.kind === 'config_invalid' || err.kind === 'rate_limited' || err.field === 'endpoint' || !!err.field?.startsWith('credentials');
      if (authFailed) {
        checks.push(failed('auth', err));
        return rest('auth failed');
      }
      // An authenticated answer (a missing bucket, a refusal): the credentials themselves were accepted.
      checks.push({ name: 'auth', status: 'passed', detail: 'credentials accepted' });
      if (err.kind === 'not_found') {
        checks.push(failed('list', err));
        checks.push(skip('read', 'listing failed'));
        checks.push(...(opts.write ? [skip('write', 'bucket not found')] : writeSkipped(opts)));
        return checks;
      }
    }

    let first: ObjectInfo | undefined;
    let listed = false;
    if (granted && !granted.has(PERMISSIONS.list)) checks.push(missing('list', PERMISSIONS.list));
    else {
      try {
        const page = await this.list({ prefix: '', maxKeys: 20, signal: opts.signal });
        listed = true;
        first = page.objects.find((o) => o.size > 0);
        checks.push({ name: 'list', status: 'passed', detail: page.objects.length ? `listed ${page.objects.length}${page.nextToken ? '+' : ''} objects` : 'bucket is empty' });
      } catch (e) {
        const err = e as CloudportError;
        checks.push(failed('list', err, err.kind === 'permission_denied' && !err.field ? grantFix(PERMISSIONS.list, this.loc.bucket) : err.fix));
      }
    }

    // A missing read permission is known without a listing; reading one object needs one.
    if (granted && !granted.has(PERMISSIONS.get)) checks.push(missing('read', PERMISSIONS.get));
    else if (!listed) checks.push(skip('read', 'listing failed'));
    else if (!first) checks.push(skip('read', 'no object to read'));
    else {
      try {
        const r = await this.read(first.key, { offset: first.size - 1, signal: opts.signal });
        r.body.destroy();
        checks.push({ name: 'read', status: 'passed', detail: 'read one object' });
      } catch (e) {
        const err = e as CloudportError;
        checks.push(failed('read', err, err.kind === 'permission_denied' && !err.field ? grantFix(PERMISSIONS.get, this.loc.bucket) : err.fix));
      }
    }

    if (!opts.write) return [...checks, ...writeSkipped(opts)];
    if (granted) {
      for (const perm of [PERMISSIONS.create, PERMISSIONS.delete]) {
        if (!granted.has(perm)) {
          checks.push(missing('write', perm));
          return checks;
        }
      }
    }
    checks.push(
      await writeProbeCheck(this, opts, (err, step) =>
        err.kind === 'permission_denied' && !err.field ? grantFix(step === 'write' ? PERMISSIONS.create : PERMISSIONS.delete, this.loc.bucket) : err.fix,
      ),
    );
    return checks;
  }

  close(): void {
    // The client keeps no sockets of its own (pooled agents); nothing to release.
  }
}

/** `x-goog-hash: crc32c=…,md5=…` (possibly several headers, joined) → checksums; undefined when absent. */
function parseGoogHash(header: string | string[] | undefined): { md5?: string; crc32c?: string } | undefined {
  const out: { md5?: string; crc32c?: string } = {};
  for (const part of (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (name === 'md5' && value) out.md5 = value;
    else if (name === 'crc32c' && value) out.crc32c = value;
  }
  return out.md5 || out.crc32c ? out : undefined;
}
