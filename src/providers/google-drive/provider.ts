import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { drive as driveClient, type drive_v3 } from '@googleapis/drive';
import { CloudportError, ObjectExistsError } from '../../shared/errors.js';
import { carriesSecrets } from '../../shared/secure-url.js';
import { writeProbeCheck, writeSkipped } from '../checks.js';
import { parseServiceAccount } from '../google-service-account.js';
import type { Check, CheckOptions, ListPage, ListRequest, LocationConfig, ObjectInfo, ProviderContext, ReadRequest, ReadResult, ResolvedCredentials, StorageProvider, WriteOptions } from '../types.js';
import { DRIVE_SCOPES, refreshTokens, serviceAccountTokens, type TokenSource } from './auth.js';
import { mapDriveError, shareFix, type DriveErrorContext } from './errors.js';
import { resumableUpload } from './upload.js';
import { FOLDER_MIME, NATIVE_EXPORTS, SHORTCUT_MIME, canonicalKey, canonicalSegment, nameChildren, nameOfSegment, type DriveChild } from './keys.js';

/** The fields of a file cloudport reads (partial responses keep listings small). */
const FILE_FIELDS = 'id,name,mimeType,createdTime,modifiedTime,size,md5Checksum,sha256Checksum,appProperties,trashed,shortcutDetails(targetId,targetMimeType)';
const LIST_FIELDS = `nextPageToken,incompleteSearch,files(${FILE_FIELDS})`;
const DRIVE_API_ROOT = 'https://www.googleapis.com/';
/** Folder listings are kept this long for the pages of one walk and for resolving keys to ids. */
const CACHE_MS = 5 * 60_000;
const CACHE_FOLDERS = 256;
/** Entries the cached listings may hold together (memory stays bounded on large Drives). */
const CACHE_ENTRIES = 200_000;
/** A folder with more children than this is refused rather than held in memory whole. */
const MAX_CHILDREN = 200_000;
/** Exports are buffered (they have no size or ranges); Drive's own limit is 10 MB. */
const EXPORT_MAX_BYTES = 16 * 1024 * 1024;
/**
 * Drive's own limit of nested folders (100 levels). A walk that would go deeper is refused, not cut:
 * its files would be missing without a word. (Shortcut loops cannot reach it: below a shortcut,
 * shortcuts are not followed again.)
 */
const MAX_DEPTH = 100;
const IDS = /^[A-Za-z0-9_-]{1,200}$/;
/** Pages of shortcuts read to tell whether a change outside the root is reached through one; past them, it is. */
const SHORTCUT_PAGES = 10;
/** A token refused within this long of being issued is not tried again (the credentials are refused). */
const FRESH_TOKEN_MS = 60_000;
/** Folders looked up to place a batch of changes under the root or not; past it, the batch counts as a change. */
const CHANGE_LOOKUPS = 200;
/** From this size on (and for every stream) an upload is resumable; below it, one multipart request. */
const RESUMABLE_FROM = 5 * 1024 * 1024;

type DriveFile = drive_v3.Schema$File;

/** One child of a folder as a key segment: a folder (descended into) or a file (an object). */
interface Entry {
  seg: string;
  folder: boolean;
  /** The id whose content or children this entry stands for (a shortcut's target). */
  id: string;
  file: DriveFile;
  /** The folder that lists it. */
  parent: string;
  /** The entry is a shortcut (its id and file are the target's). */
  viaShortcut?: boolean;
}

interface Listing {
  at: number;
  entries: Entry[];
  bySeg: Map<string, Entry>;
}

/**
 * A walk's position: the folders still open, each with the sort key of the last entry it gave ('' at
 * the start), so a folder that changes between pages neither skips nor repeats an entry; and whether
 * the folder was reached through a shortcut (below one, shortcuts are not followed again).
 */
type Frame = [id: string, prefix: string, after: string, viaShortcut: 0 | 1];

const isNative = (mime: string | null | undefined) => !!mime && mime.startsWith('application/vnd.google-apps.');

/** Of several children of one name, the one that stays when writers race: the oldest (createdTime, then id). */
const oldestId = (same: readonly { id: string; file: { createdTime?: string | null } }[]): string | undefined =>
  [...same].sort((a, b) => cmp(`${a.file.createdTime}${a.id}`, `${b.file.createdTime}${b.id}`))[0]?.id;
const hexToB64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');


export class DriveProvider implements StorageProvider {
  readonly capabilities = { delimiter: true, rangedRead: true, write: true, maxPageSize: 1000, contentEtag: false, readAnswersAtHeaders: false, readTimesOut: false };
  private readonly api: drive_v3.Drive;
  private readonly rootUrl: string;
  private readonly rootId: string;
  private readonly driveId: string | undefined;
  private readonly readTokens: TokenSource;
  private readonly writeTokens: TokenSource;
  private readonly principal: string | undefined;
  private readonly ownAgents: { http: http.Agent; https: https.Agent } | null = null;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly listings = new Map<string, Listing>();
  /** Folder creations in flight, by parent id and name: concurrent exports create one folder. */
  private readonly creating = new Map<string, Promise<string>>();

  constructor(
    private readonly loc: LocationConfig,
    creds: ResolvedCredentials,
    ctx: ProviderContext,
  ) {
    this.rootUrl = loc.endpoint ? (loc.endpoint.endsWith('/') ? loc.endpoint : `${loc.endpoint}/`) : DRIVE_API_ROOT;
    // Bearer tokens are usable by whoever receives them.
    if (!carriesSecrets(this.rootUrl)) {
      throw new CloudportError('config_invalid', `cloudport sends Google access tokens only over https (or to loopback): ${loc.endpoint} is plain http`, { field: 'endpoint', fix: 'Use an https endpoint.' });
    }
    this.driveId = typeof loc.drive_id === 'string' ? loc.drive_id : undefined;
    this.rootId = typeof loc.root_folder_id === 'string' ? loc.root_folder_id : (this.driveId ?? 'root');
    const agents = ctx.agents ?? (this.ownAgents = {
      http: new http.Agent({ keepAlive: true, maxSockets: ctx.maxSockets, ...(ctx.lookup ? { lookup: ctx.lookup } : {}) }),
      https: new https.Agent({ keepAlive: true, maxSockets: ctx.maxSockets, ...(ctx.lookup ? { lookup: ctx.lookup } : {}) }),
    });
    this.agents = agents;
    const hold = ctx.holdSecrets;
    if (creds.type === 'service_account') {
      const key = parseServiceAccount(typeof creds.json === 'string' ? creds.json : '');
      if (key.token_uri && !carriesSecrets(key.token_uri)) {
        throw new CloudportError('config_invalid', 'the token_uri of the service account key is plain http: the access token would travel in clear text', { field: 'credentials.json', fix: 'Use an https token_uri (Google\'s is https://oauth2.googleapis.com/token).' });
      }
      const subject = typeof creds.subject === 'string' ? creds.subject : undefined;
      const opts = { agents, ...(subject ? { subject } : {}), ...(hold ? { holdSecrets: hold } : {}) };
      this.readTokens = serviceAccountTokens(key, [DRIVE_SCOPES.read], opts);
      this.writeTokens = serviceAccountTokens(key, [DRIVE_SCOPES.write], opts);
      this.principal = subject ?? key.client_email;
    } else if (creds.type === 'oauth') {
      // A refresh token carries the scopes the user consented to; one token serves both.
      this.readTokens = this.writeTokens = refreshTokens(
        {
          client_id: String(creds.client_id),
          client_secret: String(creds.client_secret),
          refresh_token: String(creds.refresh_token),
          // Not in the tool schema: set by tests (and code) that open the provider directly.
          ...(typeof creds.token_uri === 'string' ? { token_uri: creds.token_uri } : {}),
        },
        { agents, ...(hold ? { holdSecrets: hold } : {}) },
      );
    } else {
      this.readTokens = adcTokens(DRIVE_SCOPES.read, hold);
      this.writeTokens = adcTokens(DRIVE_SCOPES.write, hold);
    }
    this.api = driveClient({
      version: 'v3',
      rootUrl: this.rootUrl,
      // cloudport's own retry layer retries (with backoff, Retry-After and ranged resume).
      retry: false,
      agent: (u: URL) => (u.protocol === 'http:' ? agents.http : agents.https),
    });
  }

  private errCtx(extra: Partial<DriveErrorContext> = {}): DriveErrorContext {
    const root = typeof this.loc.root_folder_id === 'string' ? `folder ${this.loc.root_folder_id}` : this.driveId ? `shared drive ${this.driveId}` : 'My Drive';
    const rootField = typeof this.loc.root_folder_id === 'string' ? 'root_folder_id' : this.driveId ? 'drive_id' : undefined;
    return { root, endpoint: this.loc.endpoint, ...(rootField ? { rootField } : {}), ...(this.principal ? { principal: this.principal } : {}), ...extra };
  }

  /** Runs one API call with a bearer token; a 401 forgets the token so the next call fetches a new one. */
  private async call<T>(need: 'list' | 'read' | 'write', run: (opts: { headers: Record<string, string>; signal?: AbortSignal; rootUrl: string }) => Promise<{ data: T }>, ctx: Partial<DriveErrorContext>, signal?: AbortSignal): Promise<T> {
    const tokens = need === 'write' ? this.writeTokens : this.readTokens;
    try {
      for (let retried = false; ; retried = true) {
        const token = await tokens.token(signal);
        try {
          return (await run({ headers: { authorization: `Bearer ${token}` }, ...(signal ? { signal } : {}), rootUrl: this.rootUrl })).data;
        } catch (e) {
          if ((e as { status?: number }).status !== 401) throw e;
          // A token refused soon after it was issued means the credentials are refused: no second try.
          const stale = tokens.age() > FRESH_TOKEN_MS;
          tokens.reset();
          if (retried || !stale) throw e;
        }
      }
    } catch (e) {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new CloudportError('unexpected', 'the request was aborted', { temporary: true });
      throw mapDriveError(e, this.errCtx({ need, ...ctx }));
    }
  }

  /**
   * The corpora a folder's children are asked for in. A shared drive's own folders are listed in that
   * drive alone (corpora=drive, Google's advice for efficiency). A folder reached through a shortcut may
   * lie outside it, in My Drive or another shared drive, where corpora=drive finds nothing: it is listed
   * across every corpus the credentials see (allDrives: the user's files and each shared drive they are a
   * member of), as every folder of a connector without drive_id is.
   */
  private corpus(viaShortcut = false) {
    return this.driveId && !viaShortcut
      ? { corpora: 'drive', driveId: this.driveId, includeItemsFromAllDrives: true, supportsAllDrives: true }
      : { corpora: 'allDrives', includeItemsFromAllDrives: true, supportsAllDrives: true };
  }

  private async meta(id: string, key: string | undefined, signal?: AbortSignal): Promise<DriveFile> {
    return this.call('read', (o) => this.api.files.get({ fileId: id, fields: FILE_FIELDS, supportsAllDrives: true }, o), key !== undefined ? { key } : {}, signal);
  }

  /** A folder's children as Drive lists them in `corpus`, and whether Drive said the search was incomplete. */
  private async listFolder(folderId: string, corpus: object, signal?: AbortSignal): Promise<{ files: DriveFile[]; incomplete: boolean }> {
    const files: DriveFile[] = [];
    let incomplete = false;
    let pageToken: string | undefined;
    do {
      const data: drive_v3.Schema$FileList = await this.call(
        'list',
        (o) => this.api.files.list({ q: `'${folderId}' in parents and trashed = false`, pageSize: 1000, fields: LIST_FIELDS, ...(pageToken ? { pageToken } : {}), ...corpus }, o),
        {},
        signal,
      );
      files.push(...(data.files ?? []));
      if (data.incompleteSearch) incomplete = true;
      pageToken = data.nextPageToken ?? undefined;
      if (files.length > MAX_CHILDREN) {
        throw new CloudportError('unsupported', `a folder holds more than ${MAX_CHILDREN} children`, { fix: 'Point root_folder_id at a smaller folder.' });
      }
    } while (pageToken);
    return { files, incomplete };
  }

  /** Every child of a folder, named as keys name them (see keys.ts), sorted as keys sort. */
  private async fetchChildren(folderId: string, viaShortcut: boolean, signal?: AbortSignal): Promise<Listing> {
    const started = clock();
    let { files: raw, incomplete } = await this.listFolder(folderId, this.corpus(viaShortcut), signal);
    if (incomplete) {
      // Drive may leave some shared drives out of a search across all of them (incompleteSearch): the
      // folder is listed again in its own corpus (its shared drive, or the user's), as Google advises.
      const folder = await this.call('list', (o) => this.api.files.get({ fileId: folderId, fields: 'id,driveId', supportsAllDrives: true }, o), {}, signal);
      const own = folder.driveId ? { corpora: 'drive', driveId: folder.driveId, includeItemsFromAllDrives: true, supportsAllDrives: true } : { corpora: 'user', includeItemsFromAllDrives: true, supportsAllDrives: true };
      ({ files: raw, incomplete } = await this.listFolder(folderId, own, signal));
      if (incomplete) throw new CloudportError('unexpected', 'Google Drive could not list every child of a folder (incompleteSearch)', { temporary: true, fix: 'Try again later.' });
    }
    // Shortcuts are followed once: to a folder (whose shortcuts are then skipped) or to a file, whose
    // content and type they stand for under the shortcut's own name.
    const targets = new Map<string, DriveFile>();
    await Promise.all(
      raw
        .filter((f) => f.mimeType === SHORTCUT_MIME && !viaShortcut && f.shortcutDetails?.targetId && IDS.test(f.shortcutDetails.targetId))
        .map(async (f) => {
          try {
            const t = await this.meta(f.shortcutDetails!.targetId!, undefined, signal);
            if (!t.trashed) targets.set(f.id!, t);
          } catch (e) {
            // A target the credentials cannot see (or that is gone) leaves the shortcut out.
            if (!(e instanceof CloudportError) || (e.kind !== 'not_found' && e.kind !== 'permission_denied')) throw e;
          }
        }),
    );
    const children: { child: DriveChild; entry: Omit<Entry, 'seg'> }[] = [];
    for (const f of raw) {
      if (!f.id || !IDS.test(f.id) || typeof f.name !== 'string' || f.trashed) continue;
      const target = f.mimeType === SHORTCUT_MIME ? targets.get(f.id) : f;
      if (!target?.id || !target.mimeType) continue;
      const folder = target.mimeType === FOLDER_MIME;
      // Google types without an export (Forms, Sites, Maps …) have no content to import.
      if (!folder && isNative(target.mimeType) && !NATIVE_EXPORTS[target.mimeType]) continue;
      children.push({
        child: { id: f.id, name: f.name, mimeType: target.mimeType, createdTime: f.createdTime ?? '' },
        entry: { folder, id: target.id, file: target, parent: folderId, ...(target !== f ? { viaShortcut: true } : {}) },
      });
    }
    const names = nameChildren(children.map((c) => c.child));
    const entries = children.map(({ child, entry }) => ({ ...entry, seg: names.get(child.id)! }));
    // The empty name cannot be a key segment ("a//b"): such children are left out.
    const kept = entries.filter((e) => e.seg !== '').sort((a, b) => cmp(sortKey(a), sortKey(b)));
    const listing = { at: started, entries: kept, bySeg: new Map(kept.map((e) => [e.seg, e])) };
    const cacheKey = listingKey(folderId, viaShortcut);
    this.listings.delete(cacheKey);
    this.listings.set(cacheKey, listing);
    let held = 0;
    for (const l of this.listings.values()) held += l.entries.length;
    for (const [k, l] of this.listings) {
      if (this.listings.size <= 1 || (this.listings.size <= CACHE_FOLDERS && held <= CACHE_ENTRIES)) break;
      if (k === cacheKey) continue;
      this.listings.delete(k);
      held -= l.entries.length;
    }
    return listing;
  }

  private forget(folderId: string): void {
    this.listings.delete(listingKey(folderId, false));
    this.listings.delete(listingKey(folderId, true));
  }

  /** A folder's listing read since `since` (the start of a walk), from the cache when there is one. */
  private async children(folderId: string, viaShortcut: boolean, since: number, signal?: AbortSignal): Promise<Listing> {
    const hit = this.listings.get(listingKey(folderId, viaShortcut));
    if (hit && hit.at > since && clock() - hit.at < CACHE_MS) return hit;
    return this.fetchChildren(folderId, viaShortcut, signal);
  }

  /** The entry of one segment in a folder, from the cached listing or, when it is not there, a fresh one. */
  private async lookup(folderId: string, segment: string, viaShortcut: boolean, signal?: AbortSignal): Promise<Entry | undefined> {
    const seg = canonicalSegment(segment);
    const cached = this.listings.get(listingKey(folderId, viaShortcut));
    const hit = cached && clock() - cached.at < CACHE_MS ? cached.bySeg.get(seg) : undefined;
    return hit ?? (await this.fetchChildren(folderId, viaShortcut, signal)).bySeg.get(seg);
  }

  /** The folder a key's folder path names (undefined when one is missing), from the connector's root. */
  private async folderOf(segments: string[], signal?: AbortSignal): Promise<{ id: string; viaShortcut: boolean } | undefined> {
    let cur = { id: this.rootId, viaShortcut: false };
    for (const seg of segments) {
      const e = await this.lookup(cur.id, seg, cur.viaShortcut, signal);
      if (!e?.folder) return undefined;
      cur = { id: e.id, viaShortcut: cur.viaShortcut || !!e.viaShortcut };
    }
    return cur;
  }

  /** A key's file (and whether a shortcut is on its path), from the cached listings or fresh ones. */
  private async resolveFile(key: string, signal?: AbortSignal): Promise<Entry & { throughShortcut: boolean }> {
    const segments = key.split('/');
    const name = segments.pop()!;
    // A listing goes MAX_DEPTH folders below its prefix, and shortcuts add their own depth: a key it
    // lists may be deeper than MAX_DEPTH from the root. The bound only stops keys no tree could hold.
    const folder = segments.length > 4 * MAX_DEPTH ? undefined : await this.folderOf(segments, signal);
    const e = folder && name ? await this.lookup(folder.id, name, folder.viaShortcut, signal) : undefined;
    if (!e || e.folder) {
      throw new CloudportError('not_found', `file ${JSON.stringify(key)} not found`, {
        field: 'key',
        fix: 'Check the key; browse_connector lists what exists. A "/" inside a Drive name is written %2F in keys (a folder named "Q3/Q4" is "Q3%2FQ4/"), and "%" is %25.',
      });
    }
    return { ...e, throughShortcut: folder!.viaShortcut || !!e.viaShortcut };
  }

  /**
   * A key's file and its metadata now. A cached id whose file went away (or to the trash) since it was
   * listed is looked up again by its key, in a fresh listing of its folder, once.
   */
  private async current(key: string, signal?: AbortSignal): Promise<{ e: Entry & { throughShortcut: boolean }; f: DriveFile }> {
    let e = await this.resolveFile(key, signal);
    for (let again = true; ; again = false) {
      try {
        return { e, f: await this.fresh(e, key, signal) };
      } catch (err) {
        if (!again || !(err instanceof CloudportError) || err.kind !== 'not_found') throw err;
        this.forget(e.parent);
        e = await this.resolveFile(key, signal);
      }
    }
  }

  private toInfo(key: string, f: DriveFile): ObjectInfo {
    const exported = f.mimeType ? NATIVE_EXPORTS[f.mimeType] : undefined;
    const info: ObjectInfo = {
      key,
      size: exported ? 0 : Number(f.size ?? 0),
      last_modified: f.modifiedTime ?? null,
      // The Drive file id stands where buckets put an etag: items keep it, so a file can be found in Drive.
      etag: f.id ?? null,
      // Exports have no checksum: their modification time is the change marker.
      version: !exported && f.md5Checksum ? f.md5Checksum : `m:${f.modifiedTime ?? ''}`,
    };
    if (exported) info.exported = exported.mimeType;
    const sha = f.sha256Checksum ?? f.appProperties?.sha256;
    if (!exported && typeof sha === 'string' && /^[0-9a-f]{64}$/.test(sha)) info.sha256 = sha;
    return info;
  }

  async list(req: ListRequest): Promise<ListPage> {
    if (req.delimiter && req.delimiter !== '/') throw new CloudportError('unsupported', 'google_drive lists folders with "/" only', { field: 'delimiter' });
    const max = Math.max(1, Math.min(req.maxKeys ?? 1000, 1000));
    const prefix = req.prefix ?? '';
    let stack: Frame[];
    // A walk reads every folder afresh once (from its start on), and its later pages reuse those listings.
    let since = clock();
    const dir = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const folder = await this.folderOf(dir ? dir.slice(0, -1).split('/') : [], req.signal);
    if (req.token) {
      ({ since, stack } = decodeToken(req.token));
      await this.checkFrames(stack, folder, dir, since, req.signal);
    } else {
      // A missing folder is an empty listing, as a prefix nothing starts with.
      if (!folder) return { objects: [], folders: [], nextToken: null };
      // A query for the children of a folder that does not exist answers nothing, so the root is asked for once.
      if (!dir) await (this.rootChecked ??= this.checkRoot(req.signal));
      stack = [[folder.id, dir, '', folder.viaShortcut ? 1 : 0]];
    }
    const objects: ObjectInfo[] = [];
    const folders: string[] = [];
    while (stack.length && objects.length + folders.length < max) {
      const top = stack[stack.length - 1]!;
      const listing = await this.children(top[0], top[3] === 1, since, req.signal);
      const e = listing.entries[after(listing.entries, top[2])];
      if (!e) {
        stack.pop();
        continue;
      }
      top[2] = sortKey(e);
      const key = top[1] + e.seg;
      if (e.folder) {
        const sub = `${key}/`;
        if (!sub.startsWith(prefix) && !prefix.startsWith(sub)) continue;
        if (req.delimiter) {
          if (sub.startsWith(prefix)) folders.push(sub);
        } else {
          // The stack holds the folder the listing starts in, then one frame per level below it.
          if (stack.length > MAX_DEPTH) {
            throw new CloudportError('unsupported', `folder ${JSON.stringify(sub)} lies more than ${MAX_DEPTH} folders below where the listing starts, deeper than Drive allows folders to nest`, {
              field: 'prefix',
              fix: 'List or import a deeper part of the tree with prefix, or set root_folder_id to a folder further down.',
            });
          }
          // Below a shortcut, shortcuts are not followed again, however deep (their listings leave them out: no loops).
          stack.push([e.id, sub, '', e.viaShortcut || top[3] === 1 ? 1 : 0]);
        }
      } else if (key.startsWith(prefix)) objects.push(this.toInfo(key, e.file));
    }
    // Finished folders are dropped now, so the last page says so (no empty page after it).
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const listing = this.listings.get(listingKey(top[0], top[3] === 1));
      if (listing && after(listing.entries, top[2]) >= listing.entries.length) stack.pop();
      else break;
    }
    return { objects, folders, nextToken: stack.length ? encodeToken(since, stack) : null };
  }

  private rootChecked: Promise<void> | null = null;

  /**
   * A continuation token names folders by id: each must be the folder its key prefix names below the
   * connector's root (the first the listing's own folder, each other a sub-folder of the one before),
   * so a token cannot reach a folder outside the root.
   */
  private async checkFrames(stack: Frame[], folder: { id: string; viaShortcut: boolean } | undefined, dir: string, since: number, signal?: AbortSignal): Promise<void> {
    const refuse = () => new CloudportError('conflict', 'the continuation token does not match the folders of this listing (they changed, or the token is not one this listing gave)', { field: 'cursor', fix: 'List again from the start, without a cursor.' });
    const first = stack[0];
    if (!folder || !first || first[0] !== folder.id || first[1] !== dir || first[3] !== (folder.viaShortcut ? 1 : 0)) throw refuse();
    for (let i = 1; i < stack.length; i++) {
      const [pid, pprefix, , pvia] = stack[i - 1]!;
      const [id, prefix, , via] = stack[i]!;
      const listing = await this.children(pid, pvia === 1, since, signal);
      const e = prefix.startsWith(pprefix) && prefix.endsWith('/') ? listing.bySeg.get(prefix.slice(pprefix.length, -1)) : undefined;
      if (!e?.folder || e.id !== id || via !== (e.viaShortcut || pvia === 1 ? 1 : 0)) throw refuse();
    }
  }

  /** Why the connector's location lists nothing, and what to do when that is the service account's own My Drive. */
  emptyHint(): string {
    if (this.rootId === 'root' && !this.driveId && this.principal?.endsWith('.gserviceaccount.com')) {
      return `My Drive of the service account ${this.principal} is empty: share a folder with that email and set root_folder_id to the folder's id (update_connector), use a shared drive (drive_id), or act as a user (subject)`;
    }
    return `${this.errCtx().root} holds no files`;
  }

  /** The connector's root exists, is visible and is a folder (else an error naming its field). */
  private async checkRoot(signal?: AbortSignal): Promise<void> {
    try {
      const f = await this.call('list', (o) => this.api.files.get({ fileId: this.rootId, fields: 'id,mimeType,trashed,driveId,shortcutDetails', supportsAllDrives: true }, o), {}, signal);
      const ctx = this.errCtx();
      // Listing with drive_id reads that shared drive only: a root elsewhere would list as empty.
      if (this.driveId && this.rootId !== this.driveId && f.driveId !== this.driveId) {
        throw new CloudportError('config_invalid', `${ctx.root} is not in shared drive ${this.driveId} (it is in ${f.driveId ? `shared drive ${f.driveId}` : 'a My Drive'})`, {
          field: 'root_folder_id',
          fix: f.driveId ? `Set drive_id to ${f.driveId}, or give a folder of shared drive ${this.driveId}.` : 'Drop drive_id (a folder of a My Drive shared with the credentials is read without it), or give a folder of that shared drive.',
        });
      }
      // A shortcut's id is not its folder's: the fix names the folder it points to.
      const target = f.mimeType === 'application/vnd.google-apps.shortcut' ? f.shortcutDetails : undefined;
      if (target?.targetId) {
        throw new CloudportError('config_invalid', `${ctx.root} is a shortcut${target.targetMimeType === FOLDER_MIME ? ` to folder ${target.targetId}` : ' to a file'}, not a folder`, {
          ...(ctx.rootField ? { field: ctx.rootField } : {}),
          fix: target.targetMimeType === FOLDER_MIME ? `Give root_folder_id ${target.targetId} (the folder the shortcut points to).` : 'Give the id of the folder that holds the files.',
        });
      }
      if (f.mimeType !== FOLDER_MIME) throw new CloudportError('config_invalid', `${ctx.root} is a file, not a folder`, { ...(ctx.rootField ? { field: ctx.rootField } : {}), fix: 'Give the id of the folder that holds the files.' });
      if (f.trashed) throw new CloudportError('not_found', `${ctx.root} is in the trash`, { ...(ctx.rootField ? { field: ctx.rootField } : {}), fix: 'Restore it from the trash, or give another folder.' });
    } catch (e) {
      this.rootChecked = null;
      throw e;
    }
  }

  /** Answers under the key the listing gives the file ("50% off.txt" is stat'ed as "50%25 off.txt"). */
  async stat(key: string, signal?: AbortSignal): Promise<ObjectInfo> {
    return this.toInfo(canonicalKey(key), (await this.current(key, signal)).f);
  }

  /** The file's metadata now (a trashed file is not found: callers look its key up again, see current()). */
  private async fresh(e: Entry, key: string, signal?: AbortSignal): Promise<DriveFile> {
    const f = await this.meta(e.id, key, signal);
    if (f.trashed) throw new CloudportError('not_found', `file ${JSON.stringify(key)} is in the trash`, { field: 'key' });
    return f;
  }

  async read(key: string, req: ReadRequest = {}): Promise<ReadResult> {
    const offset = req.offset ?? 0;
    const signal = req.signal;
    let e = await this.resolveFile(key, signal);
    const exported = e.file.mimeType ? NATIVE_EXPORTS[e.file.mimeType] : undefined;
    if (exported) return this.readExport(key, e, exported.mimeType, req);
    // The content and the current metadata are asked for at once: the metadata gives the size, the
    // version a resumed read is pinned to, and the MD5 the download is verified against.
    let [metaResult, mediaResult] = await Promise.allSettled([this.fresh(e, key, signal), this.rawMedia(e.id, key, offset, signal)]);
    if (metaResult.status === 'rejected' && metaResult.reason instanceof CloudportError && metaResult.reason.kind === 'not_found') {
      // The file listed under this key went away since: the key may name another file now.
      if (mediaResult.status === 'fulfilled') mediaResult.value.body.destroy();
      this.forget(e.parent);
      e = await this.resolveFile(key, signal);
      [metaResult, mediaResult] = await Promise.allSettled([this.fresh(e, key, signal), this.rawMedia(e.id, key, offset, signal)]);
    }
    if (mediaResult.status === 'fulfilled' && metaResult.status === 'rejected') mediaResult.value.body.destroy();
    if (metaResult.status === 'rejected') throw metaResult.reason;
    if (mediaResult.status === 'rejected') throw mediaResult.reason;
    const f = metaResult.value;
    const { body, status } = mediaResult.value;
    const version = f.md5Checksum ?? `m:${f.modifiedTime ?? ''}`;
    const size = Number(f.size ?? 0);
    if ((req.ifVersion && version !== req.ifVersion) || (offset > 0 && status !== 206)) {
      body.destroy();
      throw new CloudportError('conflict', `file ${JSON.stringify(key)} changed while it was being read`, { temporary: true });
    }
    const out: ReadResult = { body, length: Math.max(0, size - offset), size, version, etag: e.id };
    if (f.mimeType) out.content_type = f.mimeType;
    if (f.md5Checksum) out.checksums = { md5: hexToB64(f.md5Checksum) };
    return out;
  }

  private async rawMedia(id: string, key: string, offset: number, signal?: AbortSignal): Promise<{ body: Readable; status: number }> {
    const tokens = this.readTokens;
    try {
      const token = await tokens.token(signal);
      const res = (await this.api.files.get(
        { fileId: id, alt: 'media', supportsAllDrives: true },
        { responseType: 'stream', headers: { authorization: `Bearer ${token}`, ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) }, ...(signal ? { signal } : {}) },
      )) as unknown as { data: Readable; status: number };
      const body = res.data;
      // Consumers see errors through iteration; this listener keeps an unread failure from crashing the process.
      body.on('error', () => undefined);
      return { body, status: res.status };
    } catch (e) {
      if ((e as { status?: number }).status === 401) tokens.reset();
      throw mapDriveError(e, this.errCtx({ need: 'read', key }));
    }
  }

  /** A Google Docs/Sheets/Slides/Drawings file, exported whole (exports have no size, checksum or ranges). */
  private async readExport(key: string, e: Entry, mimeType: string, req: ReadRequest): Promise<ReadResult> {
    // An export is made anew on each read and need not be the same bytes twice: a cut one restarts whole.
    if ((req.offset ?? 0) > 0) throw new CloudportError('conflict', `the export of ${JSON.stringify(key)} cannot be resumed; it is read again whole`, { temporary: true });
    const [f, buf] = await Promise.all([
      this.fresh(e, key, req.signal),
      this.call(
        'read',
        async (o) => {
          const res = (await this.api.files.export({ fileId: e.id, mimeType }, { ...o, responseType: 'stream' })) as unknown as { data: Readable };
          return { data: await collect(res.data, EXPORT_MAX_BYTES, key) };
        },
        { key },
        req.signal,
      ),
    ]);
    const version = `m:${f.modifiedTime ?? ''}`;
    if (req.ifVersion && req.ifVersion !== version) throw new CloudportError('conflict', `file ${JSON.stringify(key)} changed while it was being read`, { temporary: true });
    const offset = Math.min(req.offset ?? 0, buf.length);
    return { body: Readable.from([buf.subarray(offset)]), length: buf.length - offset, size: buf.length, version, etag: e.id, content_type: mimeType };
  }

  /**
   * A shared drive's feed (drive_id) holds its own changes only, while a shortcut in it may lead to a
   * folder outside it (My Drive, another shared drive) whose changes only the user's feed holds: the
   * token then places both feeds, "<drive's> <user's>", and the user's is read whenever such a shortcut
   * is under the root. Without drive_id the user's feed holds every corpus.
   */
  async changes(token: string | null, signal?: AbortSignal): Promise<{ token: string; changed: boolean | null }> {
    const user = { supportsAllDrives: true, includeItemsFromAllDrives: true };
    if (!this.driveId) {
      if (!token) return { token: await this.startToken(user, signal), changed: null };
      return this.readFeed(token, user, null, signal);
    }
    const drive = { driveId: this.driveId, supportsAllDrives: true, includeItemsFromAllDrives: true };
    const [own, theirs] = token?.split(' ') ?? [];
    // (A token of one feed only was written before the user's was read: the next run reads everything.)
    if (!own || !theirs) {
      const [d, u] = await Promise.all([this.startToken(drive, signal), this.startToken(user, signal)]);
      return { token: `${d} ${u}`, changed: null };
    }
    const inDrive = await this.readFeed(own, drive, null, signal);
    const targets = inDrive.changed ? new Set<string>() : await this.targetsOutside(signal);
    // Shortcuts that cannot all be seen (too many, an incomplete search): a run, as for any doubt. Then,
    // as when nothing outside is watched (or a run comes anyway), the user's feed starts afresh.
    if (targets === null) return { token: `${inDrive.token} ${await this.startToken(user, signal)}`, changed: true };
    if (!targets.size) return { token: `${inDrive.token} ${await this.startToken(user, signal)}`, changed: inDrive.changed };
    const outside = await this.readFeed(theirs, user, targets, signal);
    return { token: `${inDrive.token} ${outside.token}`, changed: outside.changed };
  }

  private async startToken(where: { driveId?: string; supportsAllDrives: boolean }, signal?: AbortSignal): Promise<string> {
    const r = await this.call('list', (o) => this.api.changes.getStartPageToken({ ...(where.driveId ? { driveId: where.driveId } : {}), supportsAllDrives: true }, o), {}, signal);
    if (!r.startPageToken) throw new CloudportError('unexpected', 'Google Drive answered no start page token', { temporary: true });
    return r.startPageToken;
  }

  /**
   * Whether anything changed under the root since `token`, and the feed's next token. `through`: the
   * folders outside a shared drive that its shortcuts lead to (the user's feed read for them alone);
   * null reads the connector's own feed, where a change outside the root counts when a shortcut under
   * the root leads to it.
   */
  private async readFeed(token: string, where: object, through: Set<string> | null, signal?: AbortSignal): Promise<{ token: string; changed: boolean }> {
    // With no root folder the connector reaches the whole drive: any change in its own feed is its own.
    const whole = through === null && typeof this.loc.root_folder_id !== 'string';
    const memo = new Map<string, boolean>(through ? [...through].map((t): [string, boolean] => [t, true]) : [[this.rootId, true]]);
    const budget = { lookups: CHANGE_LOOKUPS };
    let changed = false;
    const outside: { id: string; parents: string[] }[] = [];
    let pageToken = token;
    for (;;) {
      const r = await this.call(
        'list',
        (o) => this.api.changes.list({ pageToken, pageSize: 1000, includeRemoved: true, fields: 'nextPageToken,newStartPageToken,changes(fileId,removed,file(parents))', ...where }, o),
        {},
        signal,
      );
      for (const ch of r.changes ?? []) {
        if (changed) break;
        // A removed file no longer says where it was: it may have been under the root.
        if (whole || ch.removed || !ch.file?.parents?.length) changed = true;
        else if (ch.fileId && through?.has(ch.fileId)) changed = true;
        else {
          for (const p of ch.file.parents) if (!changed && (await this.under(p, memo, budget, signal))) changed = true;
          if (!changed && ch.fileId) outside.push({ id: ch.fileId, parents: ch.file.parents });
        }
      }
      if (r.newStartPageToken) {
        // Changes outside the root still count when a shortcut under the root leads to them.
        if (!changed && !through && outside.length) changed = await this.reachedByShortcut(outside, memo, budget, signal);
        return { token: r.newStartPageToken, changed };
      }
      if (!r.nextPageToken) return { token: pageToken, changed: true };
      pageToken = r.nextPageToken;
    }
  }

  /**
   * What shortcuts under the root lead to (folders and files), or null when that cannot be told: too
   * many shortcuts, or a search Drive calls incomplete (some may be missing).
   */
  private async shortcutTargets(memo: Map<string, boolean>, budget: { lookups: number }, signal?: AbortSignal): Promise<Set<string> | null> {
    const targets = new Set<string>();
    let pageToken: string | undefined;
    for (let pages = 0; ; pages++) {
      if (pages >= SHORTCUT_PAGES) return null;
      const r: drive_v3.Schema$FileList = await this.call(
        'list',
        (o) => this.api.files.list({ q: `mimeType = '${SHORTCUT_MIME}' and trashed = false`, pageSize: 1000, fields: 'nextPageToken,incompleteSearch,files(id,parents,shortcutDetails(targetId))', ...(pageToken ? { pageToken } : {}), ...this.corpus() }, o),
        {},
        signal,
      );
      if (r.incompleteSearch) return null;
      for (const f of r.files ?? []) {
        const target = f.shortcutDetails?.targetId;
        if (!target || !IDS.test(target) || !f.parents?.length) continue;
        for (const p of f.parents) if (await this.under(p, memo, budget, signal)) targets.add(target);
      }
      pageToken = r.nextPageToken ?? undefined;
      if (!pageToken) return targets;
    }
  }

  /**
   * What shortcuts under the root lead to outside the connector's shared drive (empty when nothing), or
   * null when that cannot be told.
   */
  private async targetsOutside(signal?: AbortSignal): Promise<Set<string> | null> {
    const targets = await this.shortcutTargets(new Map([[this.rootId, true]]), { lookups: CHANGE_LOOKUPS }, signal);
    if (!targets) return null;
    const outside = new Set<string>();
    for (const t of targets) {
      const f = await this.call('list', (o) => this.api.files.get({ fileId: t, fields: 'id,driveId', supportsAllDrives: true }, o), {}, signal).catch(() => null);
      // A target the credentials cannot see any more: the listing leaves it out, and so does the feed.
      if (f && f.driveId !== this.driveId) outside.add(t);
    }
    return outside;
  }

  /** Whether any of these files (outside the root) is, or lies below, the target of a shortcut under the root. */
  private async reachedByShortcut(files: { id: string; parents: string[] }[], memo: Map<string, boolean>, budget: { lookups: number }, signal?: AbortSignal): Promise<boolean> {
    // Shortcuts that cannot all be seen: a change they may lead to counts.
    const targets = await this.shortcutTargets(memo, budget, signal);
    if (!targets) return true;
    if (!targets.size) return false;
    const through = new Map<string, boolean>([[this.rootId, true], ...[...targets].map((t): [string, boolean] => [t, true])]);
    for (const f of files) {
      if (targets.has(f.id)) return true;
      for (const p of f.parents) if (await this.under(p, through, budget, signal)) return true;
    }
    return false;
  }

  /** Whether a folder is the root or below it (parents asked for up the tree; past the budget: yes). */
  private async under(id: string, memo: Map<string, boolean>, budget: { lookups: number }, signal?: AbortSignal): Promise<boolean> {
    const trail: string[] = [];
    let cur: string | undefined = id;
    let answer = false;
    while (cur) {
      const known = memo.get(cur);
      if (known !== undefined) {
        answer = known;
        break;
      }
      trail.push(cur);
      if (budget.lookups-- <= 0 || trail.length > MAX_DEPTH) {
        answer = true;
        break;
      }
      const f: DriveFile | null = await this.call('list', (o) => this.api.files.get({ fileId: cur!, fields: 'id,parents', supportsAllDrives: true }, o), {}, signal).catch(() => null);
      cur = f?.parents?.[0];
      if (!f) answer = true;
    }
    for (const t of trail) memo.set(t, answer);
    return answer;
  }

  /** The id of the folder a key's folders name, creating the missing ones (one at a time per name). */
  private async ensureFolders(segments: string[], signal?: AbortSignal): Promise<string> {
    let parent = this.rootId;
    for (const seg of segments) {
      const found = await this.lookup(parent, seg, false, signal);
      if (found?.viaShortcut) throw new CloudportError('conflict', `${JSON.stringify(seg)} is a shortcut; cloudport does not write through shortcuts`, { field: 'key', fix: 'Export under another path (export_base_path) inside the connector\'s own folders.' });
      if (found?.folder) {
        parent = found.id;
        continue;
      }
      if (found) throw new CloudportError('conflict', `${JSON.stringify(seg)} is a file, not a folder`, { field: 'key', fix: 'Export under a path whose folders are not files (another export_base_path or path_template), or rename that file in Drive.' });
      const lockKey = `${parent}/${seg}`;
      let pending = this.creating.get(lockKey);
      if (!pending) {
        pending = this.createFolder(parent, seg, signal).finally(() => this.creating.delete(lockKey));
        this.creating.set(lockKey, pending);
      }
      parent = await pending;
    }
    return parent;
  }

  private async createFolder(parent: string, seg: string, signal?: AbortSignal): Promise<string> {
    const again = (await this.fetchChildren(parent, false, signal)).bySeg.get(canonicalSegment(seg));
    if (again?.folder) return again.id;
    const name = nameOfSegment(seg);
    const made = await this.call('write', (o) => this.api.files.create({ requestBody: { name, mimeType: FOLDER_MIME, parents: [parent] }, fields: 'id', supportsAllDrives: true }, o), {}, signal);
    // Another process may have made the same folder at once: the oldest of the same name wins, and
    // the newer (still empty) one is removed, so every writer ends up in one folder.
    const listing = await this.fetchChildren(parent, false, signal);
    const winner = oldestId(listing.entries.filter((x) => x.folder && !x.viaShortcut && x.file.name === name)) ?? made.id!;
    if (winner !== made.id) {
      await this.call('write', (o) => this.api.files.delete({ fileId: made.id!, supportsAllDrives: true }, o), {}, signal).catch(() => undefined);
      this.forget(parent);
    }
    return winner;
  }

  async write(key: string, body: Buffer | Readable, opts: WriteOptions = {}): Promise<void> {
    if (Buffer.isBuffer(body)) return this.writeBody(key, body, opts);
    // A stream's errors have a listener from the start (folders are made before it is read), and a
    // write that fails before reading it all releases it.
    body.on('error', () => undefined);
    try {
      await this.writeBody(key, body, opts);
    } catch (e) {
      body.destroy();
      throw e;
    }
  }

  private async writeBody(key: string, body: Buffer | Readable, opts: WriteOptions): Promise<void> {
    const segments = key.split('/');
    const seg = segments.pop()!;
    if (!seg || segments.some((s) => !s)) throw new CloudportError('config_invalid', `key ${JSON.stringify(key)} has an empty folder or file name`, { field: 'key' });
    const parent = await this.ensureFolders(segments, opts.signal);
    const existing = (await this.fetchChildren(parent, false, opts.signal)).bySeg.get(canonicalSegment(seg));
    if (existing?.viaShortcut) throw new CloudportError('conflict', `${JSON.stringify(key)} is a shortcut; cloudport does not write through shortcuts`, { field: 'key' });
    if (existing?.folder) throw new CloudportError('conflict', `${JSON.stringify(key)} is a folder`, { field: 'key' });
    if (existing && isNative(existing.file.mimeType)) throw new CloudportError('conflict', `${JSON.stringify(key)} is a Google ${existing.file.mimeType!.split('.').pop()} file; cloudport does not overwrite those`, { field: 'key', fix: 'Export under another path_template or export_base_path.' });
    if (existing && opts.ifAbsent) throw new ObjectExistsError(`file ${JSON.stringify(key)}`);
    const contentType = opts.contentType ?? 'application/octet-stream';
    const appProperties = opts.sha256 ? { sha256: opts.sha256 } : undefined;
    const fields = 'id,md5Checksum,size';
    const size = Buffer.isBuffer(body) ? body.length : opts.size;
    let done: DriveFile;
    if (size !== undefined && (!Buffer.isBuffer(body) || size >= RESUMABLE_FROM)) {
      // Large files and streams go up in chunks that survive a broken connection.
      const metadata = existing ? { ...(appProperties ? { appProperties } : {}) } : { name: nameOfSegment(seg), parents: [parent], ...(appProperties ? { appProperties } : {}) };
      done = await this.call(
        'write',
        async (o) => ({
          data: (await resumableUpload({
            url: `${this.rootUrl}upload/drive/v3/files${existing ? `/${existing.id}` : ''}`,
            method: existing ? 'PATCH' : 'POST',
            params: { fields, supportsAllDrives: 'true' },
            metadata,
            contentType,
            size,
            body: Buffer.isBuffer(body) ? Readable.from([body]) : body,
            token: async () => o.headers.authorization!.slice('Bearer '.length),
            agents: this.agents,
            ...(opts.signal ? { signal: opts.signal } : {}),
          })) as DriveFile,
        }),
        { key },
        opts.signal,
      );
    } else {
      if (!Buffer.isBuffer(body)) throw new CloudportError('unexpected', 'a stream written to google_drive needs its size', { temporary: false });
      const media = { mimeType: contentType, body: Readable.from([body]) };
      done = await this.call(
        'write',
        (o) =>
          existing
            ? this.api.files.update({ fileId: existing.id, media, fields, supportsAllDrives: true, ...(appProperties ? { requestBody: { appProperties } } : {}) }, o)
            : this.api.files.create({ requestBody: { name: nameOfSegment(seg), parents: [parent], ...(appProperties ? { appProperties } : {}) }, media, fields, supportsAllDrives: true }, o),
        { key },
        opts.signal,
      );
    }
    this.forget(parent);
    if (opts.md5 && done.md5Checksum && hexToB64(done.md5Checksum) !== opts.md5) {
      if (!existing && done.id) await this.call('write', (o) => this.api.files.delete({ fileId: done.id!, supportsAllDrives: true }, o), {}).catch(() => undefined);
      throw new CloudportError('unexpected', `the bytes sent for ${JSON.stringify(key)} were corrupted on the way (checksum mismatch)`, { temporary: true });
    }
    if (!existing && done.id) await this.keepOldest(parent, nameOfSegment(seg), done.id, key, opts);
  }

  /**
   * Drive does not refuse a second file of one name in a folder, so another writer (an overlapping export,
   * another process) may have created the same file at once: the oldest (createdTime, then id) is the one,
   * as for folders (createFolder). A newer file this write created is removed; a create-only write then
   * found the file there, and any other is tried again (it then updates the oldest).
   */
  private async keepOldest(parent: string, name: string, made: string, key: string, opts: WriteOptions): Promise<void> {
    const listing = await this.fetchChildren(parent, false, opts.signal);
    if ((oldestId(listing.entries.filter((x) => !x.folder && !x.viaShortcut && !isNative(x.file.mimeType) && x.file.name === name)) ?? made) === made) return;
    await this.call('write', (o) => this.api.files.delete({ fileId: made, supportsAllDrives: true }, o), {}, opts.signal).catch(() => undefined);
    this.forget(parent);
    if (opts.ifAbsent) throw new ObjectExistsError(`file ${JSON.stringify(key)}`);
    throw new CloudportError('unexpected', `another writer created ${JSON.stringify(key)} at the same time; writing again`, { temporary: true });
  }

  async delete(key: string): Promise<void> {
    const e = await this.resolveFile(key);
    // A shortcut's target lies outside the connector's folders (and may be someone else's file).
    if (e.throughShortcut) throw new CloudportError('conflict', `${JSON.stringify(key)} is reached through a shortcut; cloudport does not delete through shortcuts`, { field: 'key' });
    await this.call('write', (o) => this.api.files.delete({ fileId: e.id, supportsAllDrives: true }, o), { key });
    this.listings.clear();
  }

  /**
   * auth: a token and about.get; list: the root folder's children; read: the last byte of one file
   * (or an export); write: a probe written and deleted under the export base path.
   */
  async check(opts: CheckOptions): Promise<Check[]> {
    const checks: Check[] = [];
    const failed = (name: Check['name'], err: CloudportError): Check => ({ name, status: 'failed', detail: err.message, ...(err.fix ? { fix: err.fix } : {}), kind: err.kind, ...(err.field ? { field: err.field } : {}), ...(err.temporary ? { temporary: true } : {}) });
    const skip = (name: Check['name'], why: string): Check => ({ name, status: 'skipped', detail: `skipped: ${why}` });
    const rest = (why: string, from: 'list' | 'read') => {
      if (from === 'list') checks.push(skip('list', why));
      checks.push(skip('read', why));
      checks.push(...(opts.write ? [skip('write', why)] : writeSkipped(opts)));
      return checks;
    };
    let user = '';
    try {
      const about = await this.call('list', (o) => this.api.about.get({ fields: 'user(emailAddress)' }, o), {}, opts.signal);
      user = about.user?.emailAddress ?? '';
      checks.push({ name: 'auth', status: 'passed', detail: `credentials accepted${user ? ` (acting as ${user})` : ''}` });
    } catch (e) {
      checks.push(failed('auth', e as CloudportError));
      return rest('auth failed', 'list');
    }

    let readable: ObjectInfo[] = [];
    try {
      const page = await this.list({ prefix: '', maxKeys: 20, signal: opts.signal });
      readable = page.objects.filter((o) => o.size > 0 || o.exported).slice(0, 5);
      const empty = this.emptyHint();
      checks.push({ name: 'list', status: 'passed', ...(page.objects.length ? { detail: `listed ${page.objects.length}${page.nextToken ? '+' : ''} files` } : { detail: empty, warning: empty }) });
    } catch (e) {
      const err = e as CloudportError;
      // A tree deeper than Drive allows is listed all the same down to its limit: the credentials list fine.
      if (err.kind === 'unsupported' && err.field === 'prefix') checks.push({ name: 'list', status: 'passed', detail: `listed, but ${err.message}: ${err.fix ?? ''}` });
      else {
        checks.push(failed('list', err.kind === 'permission_denied' && !err.field ? withFix(err, shareFix(this.errCtx({ principal: user || this.principal }), 'list')) : err));
        return rest('listing failed', 'read');
      }
    }
    if (!readable.length) checks.push(skip('read', 'no file to read'));
    else {
      // A file that cannot be read for its own sake (field "key": its owner turned off downloads, a Google
      // Doc too large to export) says nothing of the credentials: the next is tried.
      let locked = 0;
      let tooLarge = 0;
      for (const f of readable) {
        try {
          const r = await this.read(f.key, { ...(f.size > 0 ? { offset: f.size - 1 } : {}), signal: opts.signal });
          r.body.destroy();
          checks.push({ name: 'read', status: 'passed', detail: `read one file${locked ? ` (${locked} before it cannot be downloaded: their owners turned downloading off)` : ''}${tooLarge ? ` (${tooLarge} before it too large for Google to export)` : ''}` });
          break;
        } catch (e) {
          const err = e as CloudportError;
          if (err.kind === 'permission_denied' && err.field === 'key') {
            locked++;
            continue;
          }
          if (err.kind === 'unsupported' && err.field === 'key') {
            tooLarge++;
            continue;
          }
          checks.push(failed('read', err.kind === 'permission_denied' && !err.field ? withFix(err, shareFix(this.errCtx({ principal: user || this.principal }), 'read')) : err));
          break;
        }
      }
      if (locked + tooLarge === readable.length) {
        const why = [locked && `${locked} cannot be downloaded (their owners turned downloading off for viewers)`, tooLarge && `${tooLarge} too large for Google to export`].filter(Boolean).join(', ');
        checks.push(skip('read', `of the ${readable.length} file(s) tried, ${why}: those files will fail on import`));
      }
    }
    if (!opts.write) return [...checks, ...writeSkipped(opts)];
    checks.push(await writeProbeCheck(this, opts, (err) => (err.kind === 'permission_denied' && !err.field ? shareFix(this.errCtx({ principal: user || this.principal }), 'write') : err.fix)));
    return checks;
  }

  close(): void {
    this.listings.clear();
    this.ownAgents?.http.destroy();
    this.ownAgents?.https.destroy();
  }
}

const withFix = (err: CloudportError, fix: string) => new CloudportError(err.kind, err.message, { fix, temporary: err.temporary, ...(err.field ? { field: err.field } : {}) });

/** Wall-clock milliseconds with sub-millisecond precision: a listing started after a walk began is that walk's. */
const clock = () => performance.timeOrigin + performance.now();

/** Listings are cached per folder and walk mode (reached through a shortcut or not: shortcuts differ). */
const listingKey = (folderId: string, viaShortcut: boolean) => (viaShortcut ? `s:${folderId}` : folderId);

/** Code-unit order, as keys compare elsewhere. */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** A folder sorts as its segment plus "/", so a walk yields keys in order. */
const sortKey = (e: Entry) => (e.folder ? `${e.seg}/` : e.seg);

/** The index of the first entry that sorts after `key` ('' : the first entry). */
function after(entries: Entry[], key: string): number {
  if (!key) return 0;
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cmp(sortKey(entries[mid]!), key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function encodeToken(since: number, stack: Frame[]): string {
  return Buffer.from(JSON.stringify({ t: since, s: stack })).toString('base64url');
}

function decodeToken(token: string): { since: number; stack: Frame[] } {
  try {
    const { t, s: v } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { t: unknown; s: unknown };
    const frames = Array.isArray(v) && v.length >= 1 && v.length <= MAX_DEPTH + 1 && v.every((f) => Array.isArray(f) && f.length === 4 && typeof f[0] === 'string' && IDS.test(f[0]) && typeof f[1] === 'string' && typeof f[2] === 'string' && (f[3] === 0 || f[3] === 1));
    if (frames && typeof t === 'number' && Number.isFinite(t)) return { since: t, stack: v as Frame[] };
  } catch {
    // Falls through to the error below.
  }
  throw new CloudportError('config_invalid', 'the listing continuation token is not one google_drive gave', { field: 'cursor', fix: 'Start again without a cursor.' });
}

/** Reads a whole stream into memory, refusing more than `max` bytes. */
async function collect(body: Readable, max: number, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      body.destroy();
      throw new CloudportError('unsupported', `the export of ${JSON.stringify(key)} is larger than ${max / 1024 / 1024} MiB`, { fix: 'Split the document; this file is skipped.' });
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Application Default Credentials (the auth library's chain: env key file, gcloud, metadata server). */
function adcTokens(scope: string, hold?: (...v: string[]) => void): TokenSource {
  let client: Promise<{ getAccessToken(): Promise<{ token?: string | null }> }> | null = null;
  return {
    // The auth library caches and renews its own token: a 401 is never worth a second try here.
    age: () => 0,
    async token() {
      client ??= import('google-auth-library').then(({ GoogleAuth }) => new GoogleAuth({ scopes: [scope] }).getClient() as never);
      try {
        const t = (await (await client).getAccessToken()).token;
        if (!t) throw new Error('no token');
        hold?.(t);
        return t;
      } catch (e) {
        client = null;
        const message = String((e as Error)?.message ?? '');
        if (!/default credentials|could not load|not found|ENOENT|invalid_grant|unauthorized/i.test(message)) {
          throw new CloudportError('unexpected', 'Application Default Credentials gave no token (the metadata server or token endpoint did not answer)', { temporary: true, fix: 'Retry; check network access to the metadata server or oauth2.googleapis.com.' });
        }
        throw new CloudportError('permission_denied', 'no Application Default Credentials were found on this host', {
          field: 'credentials',
          fix: 'Run `gcloud auth application-default login --scopes=https://www.googleapis.com/auth/drive.readonly,https://www.googleapis.com/auth/cloud-platform`, set GOOGLE_APPLICATION_CREDENTIALS for the server, or give {type: "service_account", json}.',
        });
      }
    },
    reset() {
      client = null;
    },
  };
}
