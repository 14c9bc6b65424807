// A small in-memory Google Drive v3 server on 127.0.0.1 that the real @googleapis/drive client works
// with (rootUrl: 'http://127.0.0.1:PORT/'), strict about what it accepts:
// - POST /token: OAuth2 token endpoint (JWT-bearer assertions signed RS256 by a service-account key the
//   test registers, with optional `sub` impersonation; refresh_token grants for registered clients;
//   authorization_code grants with PKCE from GET /o/oauth2/v2/auth, a consent screen that approves at once).
// - Every API call needs `Authorization: Bearer <token>` from that endpoint (401 otherwise) with a scope
//   that allows it (403 insufficientPermissions otherwise).
// - about.get, files.list (q, paging, fields, orderBy, shared drives), files.get (metadata, alt=media with
//   Range), files.export, files.create (metadata, multipart, media, resumable), files.update (metadata,
//   media, multipart, resumable), files.delete, drives.list, changes.getStartPageToken, changes.list.
// - Unknown query parameters, bad values, unknown `fields` selections and malformed bodies answer 400
//   in Google's error shape `{ error: { code, message, errors: [{ message, domain, reason }], status } }`.
// - Faults: a status answer (403 userRateLimitExceeded, 429 with Retry-After, 500, ...) for the n-th
//   matching request, or a media/export body cut after N bytes (the socket is destroyed).
// Client notes (checked with @googleapis/drive 22.0.0 + google-auth-library 10.5.0):
// - `drive({ rootUrl })` rewrites only plain API URLs; media uploads (files.create / files.update with
//   `media`) build their URL from the *call's* options, so pass `{ rootUrl }` as the second argument of
//   every upload call too, or the upload goes to www.googleapis.com.
// - Service accounts: an OAuth2Client whose `refreshHandler` signs the JWT-bearer assertion and posts it
//   to `tokenUrl`; user credentials: `new OAuth2Client({ clientId, clientSecret, endpoints:
//   { oauth2TokenUrl: tokenUrl } })`. With `forceRefreshOnFailure: true` a 401 (and any 403, rate limits
//   included) makes the client fetch a new token and repeat the call once.
// Plain ESM JavaScript, like gcs-server.mjs.
import http from 'node:http';
import { createHash, createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import { forceLoopbackListen } from './loopback.mjs';

export const SCOPES = {
  drive: 'https://www.googleapis.com/auth/drive',
  readonly: 'https://www.googleapis.com/auth/drive.readonly',
  file: 'https://www.googleapis.com/auth/drive.file',
  metadataReadonly: 'https://www.googleapis.com/auth/drive.metadata.readonly',
  metadata: 'https://www.googleapis.com/auth/drive.metadata',
};
export const FOLDER = 'application/vnd.google-apps.folder';
export const SHORTCUT = 'application/vnd.google-apps.shortcut';
export const NATIVE = {
  document: 'application/vnd.google-apps.document',
  spreadsheet: 'application/vnd.google-apps.spreadsheet',
  presentation: 'application/vnd.google-apps.presentation',
  drawing: 'application/vnd.google-apps.drawing',
};
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const PPTX = 'application/vnd.openxmlformats-officedocument.presentationml.presentation';
/** Export formats Drive offers per native type (a subset of Google's list). */
export const EXPORTS = {
  [NATIVE.document]: [DOCX, 'application/pdf', 'text/plain', 'text/html', 'application/rtf', 'application/vnd.oasis.opendocument.text', 'text/markdown', 'application/epub+zip'],
  [NATIVE.spreadsheet]: [XLSX, 'application/pdf', 'text/csv', 'text/tab-separated-values', 'application/vnd.oasis.opendocument.spreadsheet'],
  [NATIVE.presentation]: [PPTX, 'application/pdf', 'text/plain', 'application/vnd.oasis.opendocument.presentation'],
  [NATIVE.drawing]: ['application/pdf', 'image/png', 'image/jpeg', 'image/svg+xml'],
};
/** Drive's export cap: larger exports answer 403 exportSizeLimitExceeded. */
export const EXPORT_LIMIT = 10 * 1024 * 1024;
/** Non-final resumable chunks must carry at least this many bytes (Google's rule). */
export const MIN_CHUNK = 256 * 1024;

const STATUS = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ABORTED', 412: 'FAILED_PRECONDITION', 416: 'OUT_OF_RANGE', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 502: 'UNAVAILABLE', 503: 'UNAVAILABLE' };
const USAGE_REASONS = new Set(['userRateLimitExceeded', 'rateLimitExceeded', 'dailyLimitExceeded', 'sharingRateLimitExceeded']);
/** Standard query parameters every Google API accepts. */
const STANDARD = ['alt', 'fields', 'key', 'prettyPrint', 'quotaUser', 'userIp', '$.xgafv', 'callback', 'upload_protocol', 'access_token', 'oauth_token'];

// ---- fields (partial response) --------------------------------------------------------------------
const MAP = 'map';
const USER = { kind: 1, displayName: 1, photoLink: 1, me: 1, permissionId: 1, emailAddress: 1 };
const FILE = {
  kind: 1, id: 1, name: 1, mimeType: 1, description: 1, starred: 1, trashed: 1, explicitlyTrashed: 1, trashedTime: 1,
  parents: 1, spaces: 1, version: 1, webViewLink: 1, webContentLink: 1, iconLink: 1, createdTime: 1, modifiedTime: 1,
  size: 1, quotaBytesUsed: 1, headRevisionId: 1, md5Checksum: 1, sha1Checksum: 1, sha256Checksum: 1, fileExtension: 1,
  fullFileExtension: 1, originalFilename: 1, driveId: 1, ownedByMe: 1, owners: USER, lastModifyingUser: USER,
  exportLinks: MAP, appProperties: MAP, properties: MAP, resourceKey: 1,
  shortcutDetails: { targetId: 1, targetMimeType: 1, targetResourceKey: 1 },
  capabilities: { canDownload: 1, canEdit: 1, canTrash: 1, canDelete: 1, canAddChildren: 1, canListChildren: 1, canRename: 1 },
};
const DRIVE = { kind: 1, id: 1, name: 1, createdTime: 1, hidden: 1 };
const SCHEMAS = {
  about: { kind: 1, user: USER, storageQuota: { limit: 1, usage: 1, usageInDrive: 1, usageInDriveTrash: 1 }, maxUploadSize: 1, canCreateDrives: 1, exportFormats: MAP, importFormats: MAP, appInstalled: 1 },
  file: FILE,
  fileList: { kind: 1, nextPageToken: 1, incompleteSearch: 1, files: FILE },
  driveList: { kind: 1, nextPageToken: 1, drives: DRIVE },
  startPageToken: { kind: 1, startPageToken: 1 },
  changeList: { kind: 1, nextPageToken: 1, newStartPageToken: 1, changes: { kind: 1, changeType: 1, time: 1, removed: 1, fileId: 1, file: FILE, driveId: 1, drive: DRIVE } },
};
const DEFAULT_FIELDS = {
  file: 'kind,id,name,mimeType',
  fileList: 'kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)',
  driveList: 'kind,nextPageToken,drives(kind,id,name)',
  startPageToken: 'kind,startPageToken',
  changeList: 'kind,nextPageToken,newStartPageToken,changes(kind,changeType,time,removed,fileId,driveId,file(kind,id,name,mimeType))',
};

class BadRequest extends Error {
  constructor(message, reason = 'invalid', location, code = 400) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.location = location;
  }
}

/** Parses a partial-response selection ("a,b(c,d/e),f/g") into a tree: { name: true | subtree }. */
export function parseFields(text) {
  let i = 0;
  const fail = () => {
    throw new BadRequest(`Invalid field selection ${text}`, 'invalidParameter', 'fields');
  };
  const list = () => {
    const tree = {};
    for (;;) {
      const m = /^\s*([A-Za-z_*][A-Za-z0-9_]*)\s*/.exec(text.slice(i));
      if (!m) fail();
      i += m[0].length;
      let node = tree;
      let name = m[1];
      while (text[i] === '/') {
        i++;
        const n = /^\s*([A-Za-z_*][A-Za-z0-9_]*)\s*/.exec(text.slice(i));
        if (!n) fail();
        i += n[0].length;
        node[name] = node[name] === true ? true : (node[name] ?? {});
        if (node[name] === true) return fail();
        node = node[name];
        name = n[1];
      }
      if (text[i] === '(') {
        i++;
        const sub = list();
        if (text[i] !== ')') fail();
        i++;
        node[name] = node[name] && node[name] !== true ? { ...node[name], ...sub } : sub;
      } else node[name] = true;
      while (text[i] === ' ') i++;
      if (text[i] !== ',') return tree;
      i++;
    }
  };
  const tree = list();
  if (i !== text.length) fail();
  return tree;
}

/** Checks a selection tree against a schema; throws 400 on unknown fields. */
function checkFields(tree, schema, text) {
  for (const [k, sub] of Object.entries(tree)) {
    if (k === '*') continue;
    const s = schema[k];
    if (s === undefined) throw new BadRequest(`Invalid field selection ${k}`, 'invalidParameter', 'fields');
    if (sub !== true && s !== MAP) {
      if (s === 1) throw new BadRequest(`Invalid field selection ${k}`, 'invalidParameter', 'fields');
      checkFields(sub, s, text);
    }
  }
}

/** Keeps only the selected fields of `obj` (arrays apply the selection to each element). */
function pick(obj, tree) {
  if (Array.isArray(obj)) return obj.map((o) => pick(o, tree));
  if (obj === null || typeof obj !== 'object') return obj;
  if (tree['*']) return obj;
  const out = {};
  for (const [k, sub] of Object.entries(tree)) {
    if (obj[k] === undefined) continue;
    out[k] = sub === true ? obj[k] : pick(obj[k], sub);
  }
  return out;
}

// ---- q (search query) -------------------------------------------------------------------------------
/** Tokenizes and parses a Drive search query into a predicate over files. */
export function parseQuery(q, ctx) {
  const bad = (why) => {
    throw new BadRequest(`Invalid Value${why ? `: ${why}` : ''}`, 'invalid', 'q');
  };
  const tokens = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= q.length) bad('unterminated string');
        if (q[i] === '\\') {
          if (i + 1 >= q.length) bad('dangling escape');
          s += q[i + 1];
          i += 2;
        } else if (q[i] === "'") {
          i++;
          break;
        } else s += q[i++];
      }
      tokens.push({ t: 'str', v: s });
    } else if (c === '(' || c === ')') {
      tokens.push({ t: c });
      i++;
    } else if (/[!<>=]/.test(c)) {
      const m = /^(!=|<=|>=|=|<|>)/.exec(q.slice(i));
      if (!m) bad(`unexpected ${c}`);
      tokens.push({ t: 'op', v: m[1] });
      i += m[1].length;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(q.slice(i));
      if (!m) bad(`unexpected ${c}`);
      tokens.push({ t: 'word', v: m[0] });
      i += m[0].length;
    }
  }
  let p = 0;
  const peekWord = (w) => tokens[p]?.t === 'word' && tokens[p].v.toLowerCase() === w;
  const expectStr = () => (tokens[p]?.t === 'str' ? tokens[p++].v : bad('expected a quoted string'));
  const expectBool = () => {
    const w = tokens[p]?.t === 'word' ? tokens[p++].v : bad('expected true or false');
    if (w !== 'true' && w !== 'false') bad('expected true or false');
    return w === 'true';
  };
  const cmp = (op, a, b) => (op === '=' ? a === b : op === '!=' ? a !== b : op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b);
  const term = () => {
    if (tokens[p]?.t === '(') {
      p++;
      const e = or();
      if (tokens[p]?.t !== ')') bad('expected )');
      p++;
      return e;
    }
    if (peekWord('not')) {
      p++;
      const e = term();
      return (f) => !e(f);
    }
    if (tokens[p]?.t === 'str') {
      const v = tokens[p++].v;
      if (!peekWord('in')) bad('expected in');
      p++;
      if (!(tokens[p]?.t === 'word' && tokens[p].v === 'parents')) bad('only "in parents" is supported');
      p++;
      const id = ctx.resolve(v);
      return (f) => f.parents.includes(id);
    }
    const field = tokens[p]?.t === 'word' ? tokens[p++].v : bad('expected a field');
    if (field === 'name' || field === 'mimeType') {
      if (peekWord('contains')) {
        p++;
        const v = expectStr().toLowerCase();
        return field === 'name' ? (f) => f.name.toLowerCase().startsWith(v) : (f) => f.mimeType.toLowerCase().includes(v);
      }
      const op = tokens[p]?.t === 'op' ? tokens[p++].v : bad('expected an operator');
      if (op !== '=' && op !== '!=') bad(`${op} is not valid for ${field}`);
      const v = expectStr();
      return (f) => cmp(op, f[field], v);
    }
    if (field === 'trashed' || field === 'starred') {
      const op = tokens[p]?.t === 'op' ? tokens[p++].v : bad('expected an operator');
      if (op !== '=' && op !== '!=') bad(`${op} is not valid for ${field}`);
      const v = expectBool();
      return (f) => cmp(op, Boolean(f[field]), v);
    }
    if (field === 'modifiedTime' || field === 'createdTime') {
      const op = tokens[p]?.t === 'op' ? tokens[p++].v : bad('expected an operator');
      const s = expectStr();
      const t = Date.parse(s);
      if (!/^\d{4}-\d\d-\d\dT/.test(s) || Number.isNaN(t)) bad(`bad date ${s}`);
      return (f) => cmp(op, Date.parse(f[field]), t);
    }
    return bad(`unsupported field ${field}`);
  };
  const and = () => {
    let e = term();
    while (peekWord('and')) {
      p++;
      const l = e;
      const r = term();
      e = (f) => l(f) && r(f);
    }
    return e;
  };
  const or = () => {
    let e = and();
    while (peekWord('or')) {
      p++;
      const l = e;
      const r = and();
      e = (f) => l(f) || r(f);
    }
    return e;
  };
  if (tokens.length === 0) return () => true;
  const e = or();
  if (p !== tokens.length) bad('trailing input');
  return e;
}

// ---- multipart/related -------------------------------------------------------------------------------
function parseMultipart(body, contentType) {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType ?? '')?.[1];
  if (!/^multipart\/related/i.test(contentType ?? '') || !boundary) throw new BadRequest('Multipart upload needs Content-Type multipart/related with a boundary.', 'badContent');
  const delim = Buffer.from(`--${boundary}`);
  const parts = [];
  let at = body.indexOf(delim);
  if (at < 0) throw new BadRequest('Malformed multipart body.', 'badContent');
  for (;;) {
    let start = at + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    if (body.subarray(start, start + 2).toString() !== '\r\n') throw new BadRequest('Malformed multipart body.', 'badContent');
    start += 2;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), start);
    if (next < 0) throw new BadRequest('Malformed multipart body: no closing boundary.', 'badContent');
    const part = body.subarray(start, next);
    const sep = part.indexOf('\r\n\r\n');
    if (sep < 0) throw new BadRequest('Malformed multipart part.', 'badContent');
    const head = part.subarray(0, sep).toString('latin1');
    parts.push({ contentType: /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim(), body: part.subarray(sep + 4) });
    at = next + 2;
  }
  if (parts.length !== 2) throw new BadRequest('Multipart upload needs exactly a metadata part and a media part.', 'badContent');
  if (!/^application\/json/i.test(parts[0].contentType ?? '')) throw new BadRequest('The first multipart part must be application/json metadata.', 'badContent');
  return { metadata: parseJson(parts[0].body), media: parts[1].body, mediaType: parts[1].contentType };
}

function parseJson(buf) {
  if (buf.length === 0) return {};
  let v;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new BadRequest('Invalid JSON payload received.', 'parseError');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new BadRequest('Invalid JSON payload received: expected an object.', 'parseError');
  return v;
}

const b64url = (s) => Buffer.from(s, 'base64url');

/**
 * Starts the server on 127.0.0.1, port 0.
 * @param {{ tokenLifetime?: number, exportLimit?: number, user?: { email?: string, displayName?: string } }} [opts]
 */
export async function startDriveServer(opts = {}) {
  forceLoopbackListen();
  const tokenLifetime = opts.tokenLifetime ?? 3599;
  const exportLimit = opts.exportLimit ?? EXPORT_LIMIT;
  const defaultUser = { email: opts.user?.email ?? 'owner@example.test', displayName: opts.user?.displayName ?? 'Test Owner' };
  const files = new Map();
  const drives = new Map();
  /** Shared drives whose files searches across all drives leave out (see leaveOutOfAllDrives). */
  const leftOutOfAllDrives = new Set();
  const changes = []; // { id, fileId, time, removed, driveId }
  const tokens = new Map(); // access token -> { scopes: Set, email, expires }
  const serviceAccounts = new Map();
  const refreshTokens = new Map();
  const clients = new Map();
  const uploads = new Map();
  const codes = new Map(); // authorization code -> { clientId, redirectUri, challenge, scopes }
  const consents = [];
  const faults = [];
  const requests = [];
  const counts = { total: 0 };
  const sockets = new Set();
  let seq = 0;
  let version = 100;
  const newId = (prefix = '1') => prefix + randomBytes(24).toString('base64url').slice(0, 32);
  const now = () => new Date().toISOString();
  const md5 = (d) => createHash('md5').update(d).digest('hex');

  const rootId = '0A' + randomBytes(9).toString('base64url') + 'Uk9PVA';
  files.set(rootId, { id: rootId, name: 'My Drive', mimeType: FOLDER, parents: [], trashed: false, createdTime: now(), modifiedTime: now(), seq: seq++, version: version++, isRoot: true });

  const logChange = (f, removed = false) => changes.push({ id: changes.length + 1, fileId: f.id, time: now(), removed, driveId: f.driveId });
  const driveOf = (parentId) => files.get(parentId)?.driveId ?? (drives.has(parentId) ? parentId : undefined);

  /** Stores a new file (test helper and API create share this). */
  function create(fields) {
    const parent = fields.parent ?? rootId;
    const p = files.get(parent);
    if (!p || p.mimeType !== FOLDER) throw new Error(`drive-server: no folder ${parent}`);
    const t = now();
    const f = {
      id: fields.id ?? newId(),
      name: fields.name ?? 'Untitled',
      mimeType: fields.mimeType ?? 'application/octet-stream',
      parents: [parent],
      driveId: driveOf(parent),
      trashed: false,
      starred: false,
      description: fields.description,
      createdTime: fields.createdTime ?? t,
      modifiedTime: fields.modifiedTime ?? t,
      appProperties: fields.appProperties,
      properties: fields.properties,
      seq: seq++,
      version: version++,
      exports: fields.exports,
      shortcutDetails: fields.shortcutDetails,
      appCreated: fields.appCreated ?? false,
    };
    if (fields.data !== undefined) setContent(f, fields.data, false);
    files.set(f.id, f);
    logChange(f);
    return f;
  }
  function setContent(f, data, touch = true) {
    f.data = Buffer.isBuffer(data) ? data : Buffer.from(data);
    f.md5 = md5(f.data);
    f.headRevisionId = '0B' + randomBytes(24).toString('base64url');
    if (touch) {
      f.modifiedTime = now();
      f.version = version++;
    }
  }
  const touch = (f) => {
    f.modifiedTime = now();
    f.version = version++;
    logChange(f);
  };
  const isNative = (f) => f.mimeType.startsWith('application/vnd.google-apps.');
  const descendants = (id) => {
    const out = [];
    for (const f of files.values()) if (f.parents.includes(id)) out.push(f, ...descendants(f.id));
    return out;
  };
  const trashedByAncestor = (f) => {
    for (let p = files.get(f.parents[0]); p; p = files.get(p.parents[0])) if (p.trashed) return true;
    return false;
  };
  const removeFile = (f) => {
    for (const d of [f, ...descendants(f.id)]) {
      files.delete(d.id);
      changes.push({ id: changes.length + 1, fileId: d.id, time: now(), removed: true, driveId: d.driveId });
    }
  };

  const base = () => `http://127.0.0.1:${server.address().port}`;
  const render = (f) => {
    const ext = /\.([^./]+)$/.exec(f.name)?.[1];
    const r = {
      kind: 'drive#file',
      id: f.id,
      name: f.name,
      mimeType: f.mimeType,
      starred: Boolean(f.starred),
      trashed: Boolean(f.trashed || trashedByAncestor(f)),
      explicitlyTrashed: Boolean(f.trashed),
      trashedTime: f.trashedTime,
      parents: f.parents.length ? [...f.parents] : undefined,
      spaces: ['drive'],
      version: String(f.version),
      createdTime: f.createdTime,
      modifiedTime: f.modifiedTime,
      driveId: f.driveId,
      ownedByMe: !f.driveId,
      description: f.description,
      appProperties: f.appProperties,
      properties: f.properties,
      webViewLink: `${base()}/view/${f.id}`,
      iconLink: `${base()}/icon/${encodeURIComponent(f.mimeType)}`,
      quotaBytesUsed: String(f.data?.length ?? 0),
      capabilities: { canDownload: !isNative(f) || Boolean(f.exports), canEdit: true, canTrash: true, canDelete: true, canAddChildren: f.mimeType === FOLDER, canListChildren: f.mimeType === FOLDER, canRename: true },
    };
    if (!f.driveId) r.owners = [{ kind: 'drive#user', displayName: defaultUser.displayName, emailAddress: defaultUser.email, me: true, permissionId: '0123' }];
    if (f.data) {
      Object.assign(r, {
        size: String(f.data.length),
        md5Checksum: f.md5,
        sha1Checksum: createHash('sha1').update(f.data).digest('hex'),
        sha256Checksum: createHash('sha256').update(f.data).digest('hex'),
        headRevisionId: f.headRevisionId,
        webContentLink: `${base()}/uc?id=${f.id}&export=download`,
        originalFilename: f.originalFilename ?? f.name,
      });
      if (ext) Object.assign(r, { fileExtension: ext, fullFileExtension: /\.(.+)$/.exec(f.name)?.[1] });
    }
    if (f.exports) r.exportLinks = Object.fromEntries((EXPORTS[f.mimeType] ?? []).map((m) => [m, `${base()}/export/${f.id}?mimeType=${encodeURIComponent(m)}`]));
    if (f.shortcutDetails) r.shortcutDetails = { ...f.shortcutDetails };
    for (const k of Object.keys(r)) if (r[k] === undefined) delete r[k];
    return r;
  };

  // ---- HTTP plumbing ---------------------------------------------------------------------------------
  const sendJson = (ctx, obj, status = 200, headers = {}) => {
    const body = JSON.stringify(obj);
    ctx.res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body), ...headers });
    ctx.res.end(body);
  };
  const sendError = (ctx, code, reason, message, extra = {}) => {
    const err = { message, domain: extra.domain ?? (USAGE_REASONS.has(reason) ? 'usageLimits' : 'global'), reason };
    if (extra.location) Object.assign(err, { location: extra.location, locationType: extra.locationType ?? 'parameter' });
    sendJson(ctx, { error: { code, message, errors: [err], status: STATUS[code] ?? 'UNKNOWN' } }, code, extra.headers ?? {});
  };
  /** Sends bytes, honouring a 'cut' fault: full headers, then the socket dies after N body bytes. */
  const sendBytes = (ctx, status, headers, data) => {
    ctx.res.writeHead(status, { ...headers, 'content-length': data.length });
    if (ctx.cut !== undefined) {
      ctx.res.write(data.subarray(0, ctx.cut), () => setImmediate(() => ctx.res.socket?.destroy()));
      return;
    }
    ctx.res.end(data);
  };
  const readAll = async (req) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    return Buffer.concat(chunks);
  };

  const boolParam = (url, name) => {
    const v = url.searchParams.get(name);
    if (v === null) return false;
    if (v !== 'true' && v !== 'false') throw new BadRequest(`Invalid value '${v}'. Expected true or false.`, 'invalid', name);
    return v === 'true';
  };
  const intParam = (url, name, min, max, dflt) => {
    const v = url.searchParams.get(name);
    if (v === null) return dflt;
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || n < min || n > max) throw new BadRequest(`Invalid value '${v}'. Values must be within the range: [${min}, ${max}]`, 'invalid', name);
    return n;
  };
  const allowParams = (url, allowed) => {
    const seen = new Set();
    for (const k of url.searchParams.keys()) {
      if (!allowed.includes(k) && !STANDARD.includes(k)) throw new BadRequest(`Invalid JSON payload received. Unknown name "${k}": Cannot bind query parameter.`, 'invalidParameter', k);
      if (seen.has(k) && k !== 'fields') throw new BadRequest(`Parameter ${k} given more than once.`, 'invalidParameter', k);
      seen.add(k);
    }
    const alt = url.searchParams.get('alt');
    if (alt !== null && alt !== 'json' && alt !== 'media') throw new BadRequest(`Invalid value '${alt}' for alt.`, 'invalid', 'alt');
  };
  const select = (url, kind, obj) => {
    const text = url.searchParams.get('fields') ?? DEFAULT_FIELDS[kind];
    const tree = parseFields(text);
    checkFields(tree, SCHEMAS[kind], text);
    return pick(obj, tree);
  };
  const checkSelection = (url, kind) => {
    const text = url.searchParams.get('fields');
    if (text !== null) checkFields(parseFields(text), SCHEMAS[kind], text);
  };

  // ---- auth --------------------------------------------------------------------------------------------
  const READ = [SCOPES.drive, SCOPES.readonly, SCOPES.file, SCOPES.metadataReadonly, SCOPES.metadata];
  const CONTENT_READ = [SCOPES.drive, SCOPES.readonly, SCOPES.file];
  const WRITE = [SCOPES.drive, SCOPES.file];
  const authenticate = (ctx, url) => {
    const header = ctx.req.headers.authorization;
    const bearer = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? url.searchParams.get('access_token') ?? url.searchParams.get('oauth_token');
    const t = bearer ? tokens.get(bearer) : undefined;
    if (!t || t.expires <= Date.now()) {
      const message = bearer
        ? 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.'
        : "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";
      sendError(ctx, 401, bearer ? 'authError' : 'required', message, {
        location: 'Authorization',
        locationType: 'header',
        headers: { 'www-authenticate': bearer ? 'Bearer realm="https://accounts.google.com/", error="invalid_token"' : 'Bearer realm="https://accounts.google.com/"' },
      });
      return null;
    }
    ctx.token = t;
    return t;
  };
  const needScope = (ctx, allowed) => {
    if (allowed.some((s) => ctx.token.scopes.has(s))) return true;
    sendError(ctx, 403, 'insufficientPermissions', 'Request had insufficient authentication scopes.', {
      headers: { 'www-authenticate': `Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="${allowed.join(' ')}"` },
    });
    return false;
  };
  /** drive.file alone sees only files this app created (through the API). */
  const visible = (ctx, f) => !(ctx.token.scopes.size && [...ctx.token.scopes].every((s) => s === SCOPES.file)) || f.appCreated || f.isRoot || drives.has(f.id);

  const issue = (scopes, email) => {
    const access = 'ya29.' + randomBytes(32).toString('base64url');
    tokens.set(access, { scopes: new Set(scopes), email, expires: Date.now() + tokenLifetime * 1000 });
    return access;
  };
  const tokenError = (ctx, status, error, description) => sendJson(ctx, { error, error_description: description }, status);

  async function tokenEndpoint(ctx) {
    const { req } = ctx;
    if (req.method !== 'POST') return tokenError(ctx, 405, 'invalid_request', 'POST only.');
    const body = await readAll(req);
    if (!/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) return tokenError(ctx, 400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded.');
    const form = new URLSearchParams(body.toString('utf8'));
    const grant = form.get('grant_type');
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const assertion = form.get('assertion') ?? '';
      const parts = assertion.split('.');
      if (parts.length !== 3) return tokenError(ctx, 400, 'invalid_grant', 'Invalid JWT: malformed assertion.');
      let header, claims;
      try {
        header = JSON.parse(b64url(parts[0]).toString('utf8'));
        claims = JSON.parse(b64url(parts[1]).toString('utf8'));
      } catch {
        return tokenError(ctx, 400, 'invalid_grant', 'Invalid JWT: malformed assertion.');
      }
      if (header.alg !== 'RS256') return tokenError(ctx, 400, 'invalid_grant', 'Invalid JWT: only RS256 is accepted.');
      const sa = serviceAccounts.get(claims.iss);
      if (!sa) return tokenError(ctx, 400, 'invalid_grant', 'Invalid grant: account not found');
      if (header.kid !== undefined && sa.keyId !== undefined && header.kid !== sa.keyId) return tokenError(ctx, 400, 'invalid_grant', 'Invalid JWT Signature.');
      const ok = verifySignature('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), sa.publicKey, b64url(parts[2]));
      if (!ok) return tokenError(ctx, 400, 'invalid_grant', 'Invalid JWT Signature.');
      if (claims.aud !== tokenUrl) return tokenError(ctx, 400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
      const nowS = Math.floor(Date.now() / 1000);
      if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number' || claims.exp <= nowS || claims.iat > nowS + 300 || claims.exp - claims.iat > 3600) {
        return tokenError(ctx, 400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
      }
      const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
      if (scopes.length === 0) return tokenError(ctx, 400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
      if (claims.sub !== undefined && claims.sub !== claims.iss && !(sa.subjects === true || (Array.isArray(sa.subjects) && sa.subjects.includes(claims.sub)))) {
        return tokenError(ctx, 401, 'unauthorized_client', 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.');
      }
      return sendJson(ctx, { access_token: issue(scopes, claims.sub ?? claims.iss), expires_in: tokenLifetime, token_type: 'Bearer' });
    }
    if (grant === 'refresh_token') {
      let clientId = form.get('client_id');
      let secret = form.get('client_secret');
      const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (basic) [clientId, secret] = Buffer.from(basic, 'base64').toString('utf8').split(':').map(decodeURIComponent);
      const client = clients.get(clientId ?? '');
      if (!client) return tokenError(ctx, 401, 'invalid_client', 'The OAuth client was not found.');
      if (client.secret !== secret) return tokenError(ctx, 401, 'invalid_client', 'Unauthorized');
      const rt = refreshTokens.get(form.get('refresh_token') ?? '');
      if (!rt || rt.clientId !== clientId) return tokenError(ctx, 400, 'invalid_grant', 'Token has been expired or revoked.');
      return sendJson(ctx, { access_token: issue(rt.scopes, rt.email), expires_in: tokenLifetime, token_type: 'Bearer', scope: rt.scopes.join(' ') });
    }
    if (grant === 'authorization_code') {
      const client = clients.get(form.get('client_id') ?? '');
      if (!client || client.secret !== form.get('client_secret')) return tokenError(ctx, 401, 'invalid_client', 'Unauthorized');
      const code = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (!code || code.clientId !== form.get('client_id')) return tokenError(ctx, 400, 'invalid_grant', 'Malformed auth code.');
      if (code.redirectUri !== form.get('redirect_uri')) return tokenError(ctx, 400, 'redirect_uri_mismatch', 'Bad Request');
      const verifier = form.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== code.challenge) return tokenError(ctx, 400, 'invalid_grant', 'Missing code verifier.');
      const refreshToken = '1//' + randomBytes(24).toString('base64url');
      refreshTokens.set(refreshToken, { clientId: code.clientId, scopes: code.scopes, email: defaultUser.email });
      return sendJson(ctx, { access_token: issue(code.scopes, defaultUser.email), expires_in: tokenLifetime, token_type: 'Bearer', scope: code.scopes.join(' '), refresh_token: refreshToken });
    }
    return tokenError(ctx, 400, 'unsupported_grant_type', `Invalid grant_type: ${grant ?? ''}`);
  }

  /**
   * The consent screen, answered at once as if the user clicked Allow: for a registered client and a
   * loopback redirect_uri, a redirect back with `code` and `state` (PKCE S256 required).
   */
  function consentEndpoint(ctx, url) {
    const q = url.searchParams;
    const fail = (why) => {
      ctx.res.writeHead(400, { 'content-type': 'text/plain' });
      ctx.res.end(`Error 400: ${why}`);
    };
    if (!clients.has(q.get('client_id') ?? '')) return fail('invalid_client');
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!/^http:\/\/(127\.0\.0\.1|\[::1\]|localhost):\d+\/?/.test(redirectUri)) return fail('redirect_uri_mismatch');
    if (q.get('response_type') !== 'code') return fail('unsupported_response_type');
    if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return fail('invalid_request: PKCE required');
    const scopes = (q.get('scope') ?? '').split(' ').filter(Boolean);
    if (!scopes.length || scopes.some((sc) => !Object.values(SCOPES).includes(sc))) return fail('invalid_scope');
    const code = '4/' + randomBytes(18).toString('base64url');
    codes.set(code, { clientId: q.get('client_id'), redirectUri, challenge: q.get('code_challenge'), scopes });
    consents.push({ clientId: q.get('client_id'), scopes, accessType: q.get('access_type'), prompt: q.get('prompt') });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    if (q.get('state') !== null) back.searchParams.set('state', q.get('state'));
    back.searchParams.set('scope', scopes.join(' '));
    ctx.res.writeHead(302, { location: back.href, 'content-length': 0 });
    ctx.res.end();
  }

  // ---- listing helpers ----------------------------------------------------------------------------------
  const ORDER_KEYS = { name: (f) => f.name, name_natural: (f) => f.name, createdTime: (f) => f.createdTime, modifiedTime: (f) => f.modifiedTime, folder: (f) => (f.mimeType === FOLDER ? 0 : 1), quotaBytesUsed: (f) => f.data?.length ?? 0 };
  const parseOrder = (text) => {
    if (!text) return [];
    return text.split(',').map((part) => {
      const m = /^\s*([A-Za-z_]+)(\s+desc)?\s*$/.exec(part);
      if (!m || !ORDER_KEYS[m[1]]) throw new BadRequest(`Invalid Value`, 'invalid', 'orderBy');
      return { key: ORDER_KEYS[m[1]], desc: Boolean(m[2]) };
    });
  };
  const compareBy = (order) => (a, b) => {
    for (const { key, desc } of order) {
      const x = key(a);
      const y = key(b);
      if (x !== y) return (x < y ? -1 : 1) * (desc ? -1 : 1);
    }
    // Ties keep creation order, reversed when the last key sorts descending.
    return (a.seq - b.seq) * (order.length && order[order.length - 1].desc ? -1 : 1);
  };
  const encodeToken = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
  const decodeToken = (text, sig) => {
    try {
      const t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
      if (t.sig !== sig) throw new Error('another listing');
      return t;
    } catch {
      throw new BadRequest('Invalid Value', 'invalid', 'pageToken');
    }
  };
  const findFile = (ctx, url, id, { allowRoot = true } = {}) => {
    const realId = id === 'root' ? rootId : id;
    const f = files.get(realId);
    const supports = boolParam(url, 'supportsAllDrives') || boolParam(url, 'supportsTeamDrives');
    if (!f || (f.driveId && !supports) || (f.isRoot && !allowRoot) || !visible(ctx, f)) {
      throw new BadRequest(`File not found: ${id}.`, 'notFound', 'fileId', 404);
    }
    return f;
  };

  // ---- API handlers -------------------------------------------------------------------------------------
  async function api(ctx, url, path) {
    const { req } = ctx;
    let m;
    if (path === '/drive/v3/about' && req.method === 'GET') {
      allowParams(url, []);
      if (!needScope(ctx, READ)) return;
      if (!url.searchParams.get('fields')) throw new BadRequest("The 'fields' parameter is required for this operation.", 'required', 'fields');
      const usage = [...files.values()].reduce((n, f) => n + (f.data?.length ?? 0), 0);
      const about = {
        kind: 'drive#about',
        user: { kind: 'drive#user', displayName: ctx.token.email === defaultUser.email ? defaultUser.displayName : ctx.token.email, emailAddress: ctx.token.email, me: true, permissionId: createHash('md5').update(ctx.token.email).digest('hex').slice(0, 20) },
        storageQuota: { limit: String(15 * 1024 ** 3), usage: String(usage), usageInDrive: String(usage), usageInDriveTrash: '0' },
        maxUploadSize: String(5 * 1024 ** 4),
        canCreateDrives: true,
        appInstalled: false,
        exportFormats: EXPORTS,
        importFormats: {},
      };
      return sendJson(ctx, select(url, 'about', about));
    }
    if (path === '/drive/v3/drives' && req.method === 'GET') {
      allowParams(url, ['pageSize', 'pageToken', 'q', 'useDomainAdminAccess']);
      if (!needScope(ctx, READ)) return;
      if (url.searchParams.has('q')) throw new BadRequest('q is not supported by this server for drives.list', 'invalid', 'q');
      const size = intParam(url, 'pageSize', 1, 100, 10);
      checkSelection(url, 'driveList');
      const all = [...drives.values()];
      const start = url.searchParams.get('pageToken') ? decodeToken(url.searchParams.get('pageToken'), 'drives').at : 0;
      const page = all.slice(start, start + size);
      const out = { kind: 'drive#driveList', drives: page.map((d) => ({ kind: 'drive#drive', id: d.id, name: d.name, createdTime: d.createdTime, hidden: false })) };
      if (start + size < all.length) out.nextPageToken = encodeToken({ sig: 'drives', at: start + size });
      return sendJson(ctx, select(url, 'driveList', out));
    }
    if (path === '/drive/v3/files' && req.method === 'GET') {
      allowParams(url, ['q', 'pageSize', 'pageToken', 'orderBy', 'corpora', 'corpus', 'driveId', 'includeItemsFromAllDrives', 'supportsAllDrives', 'includeTeamDriveItems', 'supportsTeamDrives', 'spaces', 'includePermissionsForView', 'includeLabels']);
      if (!needScope(ctx, READ)) return;
      const size = intParam(url, 'pageSize', 1, 1000, 100);
      const supports = boolParam(url, 'supportsAllDrives') || boolParam(url, 'supportsTeamDrives');
      const allDrives = boolParam(url, 'includeItemsFromAllDrives') || boolParam(url, 'includeTeamDriveItems');
      const corpora = url.searchParams.get('corpora') ?? 'user';
      const driveId = url.searchParams.get('driveId');
      const spaces = url.searchParams.get('spaces') ?? 'drive';
      if (spaces !== 'drive') throw new BadRequest(`Invalid Value`, 'invalid', 'spaces');
      if (!['user', 'drive', 'allDrives', 'domain'].includes(corpora)) throw new BadRequest('Invalid Value', 'invalid', 'corpora');
      if ((corpora === 'drive') !== (driveId !== null)) throw new BadRequest('The driveId parameter must be specified if and only if corpora is set to drive.', 'invalid', 'driveId');
      if (allDrives && !supports) throw new BadRequest('The includeItemsFromAllDrives parameter can only be set to true when supportsAllDrives is also set to true.', 'invalid', 'includeItemsFromAllDrives');
      if ((corpora === 'drive' || corpora === 'allDrives') && !allDrives) throw new BadRequest(`The includeItemsFromAllDrives parameter must be set to true when corpora is ${corpora}.`, 'invalid', 'includeItemsFromAllDrives');
      if (driveId !== null && !drives.has(driveId)) throw new BadRequest(`Shared drive not found: ${driveId}`, 'notFound', 'driveId', 404);
      const qText = url.searchParams.get('q') ?? '';
      const pred = parseQuery(qText, { resolve: (id) => (id === 'root' ? rootId : id) });
      const orderText = url.searchParams.get('orderBy') ?? '';
      const order = parseOrder(orderText);
      checkSelection(url, 'fileList');
      const sig = createHash('sha1').update(JSON.stringify([qText, orderText, corpora, driveId, allDrives])).digest('base64url');
      const cmp = compareBy(order);
      let all = [...files.values()].filter(
        (f) => !f.isRoot && (corpora === 'drive' ? f.driveId === driveId : corpora === 'allDrives' ? true : !f.driveId) && visible(ctx, f) && pred(render(f)),
      );
      // A search across all drives may leave some shared drives out, and then says so (incompleteSearch).
      const before = all.length;
      if (corpora === 'allDrives') all = all.filter((f) => !leftOutOfAllDrives.has(f.driveId));
      const incompleteSearch = all.length < before;
      all.sort(cmp);
      const tokenText = url.searchParams.get('pageToken');
      if (tokenText) {
        const t = decodeToken(tokenText, sig);
        all = all.filter((f) => cmp(f, t.last) > 0);
      }
      const page = all.slice(0, size);
      const out = { kind: 'drive#fileList', incompleteSearch, files: page.map(render) };
      if (all.length > size) {
        const last = page[page.length - 1];
        const keys = { name: last.name, createdTime: last.createdTime, modifiedTime: last.modifiedTime, mimeType: last.mimeType, seq: last.seq, data: last.data ? { length: last.data.length } : undefined };
        out.nextPageToken = encodeToken({ sig, last: keys });
      }
      return sendJson(ctx, select(url, 'fileList', out));
    }
    if ((m = /^\/drive\/v3\/files\/([^/]+)$/.exec(path)) && req.method === 'GET') {
      const id = decodeURIComponent(m[1]);
      allowParams(url, ['supportsAllDrives', 'supportsTeamDrives', 'acknowledgeAbuse', 'includePermissionsForView', 'includeLabels']);
      boolParam(url, 'acknowledgeAbuse');
      const media = url.searchParams.get('alt') === 'media';
      if (!needScope(ctx, media ? CONTENT_READ : READ)) return;
      const f = findFile(ctx, url, id);
      if (!media) {
        checkSelection(url, 'file');
        return sendJson(ctx, select(url, 'file', render(f)));
      }
      if (!f.data) {
        return sendError(ctx, 403, 'fileNotDownloadable', 'Only files with binary content can be downloaded. Use Export with Docs Editors files.', { location: 'alt' });
      }
      const total = f.data.length;
      const headers = { 'content-type': f.mimeType, 'accept-ranges': 'bytes', etag: `"${f.md5}"`, 'x-goog-hash': `md5=${Buffer.from(f.md5, 'hex').toString('base64')}` };
      const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? '').trim());
      if (range && (range[1] !== '' || range[2] !== '')) {
        let start;
        let end = total - 1;
        if (range[1] === '') start = Math.max(0, total - Number(range[2]));
        else {
          start = Number(range[1]);
          if (range[2] !== '') end = Math.min(Number(range[2]), total - 1);
          if (range[2] !== '' && Number(range[2]) < start) return sendError(ctx, 416, 'requestedRangeNotSatisfiable', 'Request range not satisfiable', { headers: { 'content-range': `bytes */${total}` } });
        }
        if (start >= total) return sendError(ctx, 416, 'requestedRangeNotSatisfiable', 'Request range not satisfiable', { headers: { 'content-range': `bytes */${total}` } });
        return sendBytes(ctx, 206, { ...headers, 'content-range': `bytes ${start}-${end}/${total}` }, f.data.subarray(start, end + 1));
      }
      return sendBytes(ctx, 200, headers, f.data);
    }
    if ((m = /^\/drive\/v3\/files\/([^/]+)\/export$/.exec(path)) && req.method === 'GET') {
      allowParams(url, ['mimeType']);
      if (!needScope(ctx, CONTENT_READ)) return;
      const f = findFile(ctx, url, decodeURIComponent(m[1]));
      const mime = url.searchParams.get('mimeType');
      if (!mime) throw new BadRequest('Required parameter: mimeType', 'required', 'mimeType');
      if (!EXPORTS[f.mimeType]) return sendError(ctx, 403, 'fileNotExportable', 'Export only supports Docs Editors files.', { location: 'fileId' });
      const bytes = f.exports?.[mime];
      if (!EXPORTS[f.mimeType].includes(mime) || bytes === undefined) throw new BadRequest('The requested conversion is not supported.', 'badRequest', 'convertTo');
      if (bytes.length > exportLimit) return sendError(ctx, 403, 'exportSizeLimitExceeded', 'This file is too large to be exported.');
      return sendBytes(ctx, 200, { 'content-type': mime }, bytes);
    }
    if (path === '/drive/v3/files' && req.method === 'POST') {
      allowParams(url, ['supportsAllDrives', 'supportsTeamDrives', 'ignoreDefaultVisibility', 'keepRevisionForever', 'ocrLanguage', 'useContentAsIndexableText', 'includePermissionsForView', 'includeLabels', 'enforceSingleParent']);
      if (!needScope(ctx, WRITE)) return;
      checkSelection(url, 'file');
      if (!/^application\/json/i.test(req.headers['content-type'] ?? '') && Number(req.headers['content-length'] ?? 0) > 0) throw new BadRequest('Metadata must be application/json.', 'badContent');
      const md = parseJson(await readAll(req));
      const f = createFromMetadata(ctx, url, md, undefined, undefined);
      return sendJson(ctx, select(url, 'file', render(f)));
    }
    if (path === '/upload/drive/v3/files' && req.method === 'POST') {
      allowParams(url, ['uploadType', 'upload_id', 'supportsAllDrives', 'supportsTeamDrives', 'ignoreDefaultVisibility', 'keepRevisionForever', 'ocrLanguage', 'useContentAsIndexableText', 'includePermissionsForView', 'includeLabels', 'enforceSingleParent']);
      if (!needScope(ctx, WRITE)) return;
      checkSelection(url, 'file');
      const type = url.searchParams.get('uploadType');
      const body = await readAll(req);
      if (type === 'multipart') {
        const { metadata, media, mediaType } = parseMultipart(body, req.headers['content-type']);
        return sendJson(ctx, select(url, 'file', render(createFromMetadata(ctx, url, metadata, media, mediaType))));
      }
      if (type === 'media') {
        return sendJson(ctx, select(url, 'file', render(createFromMetadata(ctx, url, {}, body, req.headers['content-type']))));
      }
      if (type === 'resumable') {
        const md = parseJson(body);
        validateMetadata(md, true);
        return startSession(ctx, url, { md, target: null });
      }
      throw new BadRequest(`Invalid value '${type ?? ''}' for uploadType.`, 'invalid', 'uploadType');
    }
    if ((m = /^\/(upload\/)?drive\/v3\/files\/([^/]+)$/.exec(path)) && req.method === 'PATCH') {
      const upload = Boolean(m[1]);
      allowParams(url, ['addParents', 'removeParents', 'supportsAllDrives', 'supportsTeamDrives', 'keepRevisionForever', 'ocrLanguage', 'useContentAsIndexableText', 'includePermissionsForView', 'includeLabels', 'enforceSingleParent', ...(upload ? ['uploadType', 'upload_id'] : [])]);
      if (!needScope(ctx, WRITE)) return;
      checkSelection(url, 'file');
      const f = findFile(ctx, url, decodeURIComponent(m[2]), { allowRoot: false });
      const body = await readAll(req);
      if (!upload) {
        if (body.length && !/^application\/json/i.test(req.headers['content-type'] ?? '')) throw new BadRequest('Metadata must be application/json.', 'badContent');
        updateMetadata(ctx, url, f, parseJson(body));
        return sendJson(ctx, select(url, 'file', render(f)));
      }
      const type = url.searchParams.get('uploadType');
      if (type === 'media') {
        if (isNative(f) || f.mimeType === FOLDER) throw new BadRequest('This file cannot take content.', 'badContent');
        setContent(f, body);
        logChange(f);
        return sendJson(ctx, select(url, 'file', render(f)));
      }
      if (type === 'multipart') {
        const { metadata, media, mediaType } = parseMultipart(body, req.headers['content-type']);
        if (isNative(f) || f.mimeType === FOLDER) throw new BadRequest('This file cannot take content.', 'badContent');
        updateMetadata(ctx, url, f, metadata, true);
        setContent(f, media);
        if (!metadata.mimeType && mediaType) f.mimeType = mediaType;
        logChange(f);
        return sendJson(ctx, select(url, 'file', render(f)));
      }
      if (type === 'resumable') {
        const md = parseJson(body);
        validateMetadata(md, false);
        return startSession(ctx, url, { md, target: f.id });
      }
      throw new BadRequest(`Invalid value '${type ?? ''}' for uploadType.`, 'invalid', 'uploadType');
    }
    if ((m = /^\/drive\/v3\/files\/([^/]+)$/.exec(path)) && req.method === 'DELETE') {
      allowParams(url, ['supportsAllDrives', 'supportsTeamDrives', 'enforceSingleParent']);
      if (!needScope(ctx, WRITE)) return;
      const f = findFile(ctx, url, decodeURIComponent(m[1]), { allowRoot: false });
      removeFile(f);
      ctx.res.writeHead(204);
      return ctx.res.end();
    }
    if (path === '/drive/v3/changes/startPageToken' && req.method === 'GET') {
      allowParams(url, ['driveId', 'supportsAllDrives', 'supportsTeamDrives', 'teamDriveId']);
      if (!needScope(ctx, READ)) return;
      const driveId = url.searchParams.get('driveId');
      if (driveId !== null && !(boolParam(url, 'supportsAllDrives') && drives.has(driveId))) throw new BadRequest(`Shared drive not found: ${driveId}`, 'notFound', 'driveId', 404);
      checkSelection(url, 'startPageToken');
      return sendJson(ctx, select(url, 'startPageToken', { kind: 'drive#startPageToken', startPageToken: String(changes.length + 1) }));
    }
    if (path === '/drive/v3/changes' && req.method === 'GET') {
      allowParams(url, ['pageToken', 'pageSize', 'driveId', 'includeItemsFromAllDrives', 'supportsAllDrives', 'includeTeamDriveItems', 'supportsTeamDrives', 'includeRemoved', 'includeCorpusRemovals', 'restrictToMyDrive', 'spaces', 'includePermissionsForView', 'includeLabels', 'teamDriveId']);
      if (!needScope(ctx, READ)) return;
      const tokenText = url.searchParams.get('pageToken');
      if (tokenText === null) throw new BadRequest('Required parameter: pageToken', 'required', 'pageToken');
      const from = Number(tokenText);
      if (!/^\d+$/.test(tokenText) || from < 1 || from > changes.length + 1) throw new BadRequest('Invalid Value', 'invalid', 'pageToken');
      const size = intParam(url, 'pageSize', 1, 1000, 100);
      const supports = boolParam(url, 'supportsAllDrives') || boolParam(url, 'supportsTeamDrives');
      const allDrives = boolParam(url, 'includeItemsFromAllDrives') || boolParam(url, 'includeTeamDriveItems');
      const includeRemoved = url.searchParams.get('includeRemoved') === null ? true : boolParam(url, 'includeRemoved');
      const driveId = url.searchParams.get('driveId');
      if (allDrives && !supports) throw new BadRequest('The includeItemsFromAllDrives parameter can only be set to true when supportsAllDrives is also set to true.', 'invalid', 'includeItemsFromAllDrives');
      if (driveId !== null && !(supports && drives.has(driveId))) throw new BadRequest(`Shared drive not found: ${driveId}`, 'notFound', 'driveId', 404);
      checkSelection(url, 'changeList');
      const latest = new Map();
      for (const c of changes.slice(from - 1)) {
        if (driveId !== null ? c.driveId !== driveId : !allDrives && c.driveId) continue;
        latest.delete(c.fileId);
        latest.set(c.fileId, c);
      }
      const entries = [...latest.values()].filter((c) => {
        const f = files.get(c.fileId);
        if (!f) return includeRemoved;
        return visible(ctx, f);
      });
      const page = entries.slice(0, size);
      const out = {
        kind: 'drive#changeList',
        changes: page.map((c) => {
          const f = files.get(c.fileId);
          const e = { kind: 'drive#change', changeType: 'file', time: c.time, removed: !f, fileId: c.fileId };
          if (c.driveId) e.driveId = c.driveId;
          if (f) e.file = render(f);
          return e;
        }),
      };
      if (entries.length > size) out.nextPageToken = String(page[page.length - 1].id + 1);
      else out.newStartPageToken = String(changes.length + 1);
      return sendJson(ctx, select(url, 'changeList', out));
    }
    return sendError(ctx, 404, 'notFound', `Not Found: ${req.method} ${path}`);
  }

  const WRITABLE = new Set(['name', 'mimeType', 'parents', 'description', 'createdTime', 'modifiedTime', 'appProperties', 'properties', 'starred', 'trashed', 'originalFilename', 'shortcutDetails', 'id', 'contentHints', 'writersCanShare', 'copyRequiresWriterPermission', 'viewedByMeTime', 'folderColorRgb', 'contentRestrictions', 'kind']);
  function validateMetadata(md, creating) {
    for (const k of Object.keys(md)) {
      if (FILE[k] !== undefined && !WRITABLE.has(k)) throw new BadRequest(`The resource body includes fields which are not directly writable.`, 'fieldNotWritable', undefined, 403);
      if (!WRITABLE.has(k)) throw new BadRequest(`Invalid JSON payload received. Unknown name "${k}" at 'file': Cannot find field.`, 'invalid');
    }
    if (md.name !== undefined && (typeof md.name !== 'string' || md.name.length === 0)) throw new BadRequest('Invalid Value', 'invalid', 'name');
    if (md.mimeType !== undefined && typeof md.mimeType !== 'string') throw new BadRequest('Invalid Value', 'invalid', 'mimeType');
    for (const t of ['createdTime', 'modifiedTime']) if (md[t] !== undefined && (typeof md[t] !== 'string' || Number.isNaN(Date.parse(md[t])))) throw new BadRequest('Invalid Value', 'invalid', t);
    if (md.parents !== undefined) {
      if (!creating) throw new BadRequest('The parents field is not directly writable in update requests. Use the addParents and removeParents parameters instead.', 'fieldNotWritable', undefined, 403);
      if (!Array.isArray(md.parents) || md.parents.some((p) => typeof p !== 'string')) throw new BadRequest('Invalid Value', 'invalid', 'parents');
      if (md.parents.length > 1) throw new BadRequest('Increasing the number of parents is not allowed.', 'cannotAddParent', undefined, 403);
    }
    if (md.id !== undefined && (!creating || typeof md.id !== 'string' || files.has(md.id))) throw new BadRequest('The provided file ID is not usable.', 'fileIdNotUsable', undefined, creating ? 400 : 403);
  }
  function createFromMetadata(ctx, url, md, media, mediaType) {
    validateMetadata(md, true);
    const parent = md.parents?.[0] === 'root' ? rootId : (md.parents?.[0] ?? rootId);
    const p = files.get(parent);
    const supports = boolParam(url, 'supportsAllDrives') || boolParam(url, 'supportsTeamDrives');
    if (!p || (driveOf(parent) && !supports) || !visible(ctx, p)) throw new BadRequest(`File not found: ${parent}.`, 'notFound', 'parentId', 404);
    if (p.mimeType !== FOLDER) throw new BadRequest('The parent is not a folder.', 'invalid', 'parentId');
    const mimeType = md.mimeType ?? mediaType ?? 'application/octet-stream';
    let shortcutDetails;
    if (mimeType === SHORTCUT) {
      const target = files.get(md.shortcutDetails?.targetId ?? '');
      if (!target) throw new BadRequest('A shortcut needs shortcutDetails.targetId of an existing file.', 'invalid', 'shortcutDetails.targetId');
      shortcutDetails = { targetId: target.id, targetMimeType: target.mimeType };
    } else if (md.shortcutDetails !== undefined) throw new BadRequest('shortcutDetails is only for shortcuts.', 'invalid', 'shortcutDetails');
    if (media !== undefined && (mimeType === FOLDER || mimeType === SHORTCUT)) throw new BadRequest('A folder or shortcut has no content.', 'badContent');
    const f = create({
      id: md.id,
      name: md.name ?? 'Untitled',
      mimeType,
      parent,
      description: md.description,
      createdTime: md.createdTime,
      modifiedTime: md.modifiedTime,
      appProperties: md.appProperties,
      properties: md.properties,
      data: media ?? (mimeType === FOLDER || mimeType === SHORTCUT || mimeType.startsWith('application/vnd.google-apps.') ? undefined : Buffer.alloc(0)),
      shortcutDetails,
      appCreated: true,
    });
    if (md.originalFilename) f.originalFilename = md.originalFilename;
    if (md.starred) f.starred = true;
    return f;
  }
  function updateMetadata(ctx, url, f, md, withContent = false) {
    validateMetadata(md, false);
    const add = (url.searchParams.get('addParents') ?? '').split(',').filter(Boolean).map((x) => (x === 'root' ? rootId : x));
    const remove = (url.searchParams.get('removeParents') ?? '').split(',').filter(Boolean).map((x) => (x === 'root' ? rootId : x));
    for (const id of add) {
      const p = files.get(id);
      if (!p || p.mimeType !== FOLDER) throw new BadRequest(`File not found: ${id}.`, 'notFound', 'addParents', 404);
      if (p.id === f.id || descendants(f.id).some((d) => d.id === p.id)) throw new BadRequest('A folder cannot be moved into itself or a descendant.', 'invalid', 'addParents');
    }
    for (const id of remove) if (!f.parents.includes(id)) throw new BadRequest(`File ${f.id} has no parent ${id}.`, 'invalid', 'removeParents');
    const parents = [...f.parents.filter((p) => !remove.includes(p)), ...add.filter((p) => !f.parents.includes(p))];
    if (parents.length > 1) throw new BadRequest('Increasing the number of parents is not allowed.', 'cannotAddParent', undefined, 403);
    if (parents.length === 0) throw new BadRequest('A file needs a parent.', 'invalid', 'removeParents');
    if (md.mimeType !== undefined && md.mimeType !== f.mimeType && (isNative(f) || md.mimeType.startsWith('application/vnd.google-apps.'))) throw new BadRequest('The mimeType of this file cannot be changed.', 'invalid', 'mimeType');
    f.parents = parents;
    f.driveId = driveOf(parents[0]);
    if (md.name !== undefined) f.name = md.name;
    if (md.description !== undefined) f.description = md.description;
    if (md.mimeType !== undefined) f.mimeType = md.mimeType;
    if (md.appProperties !== undefined) f.appProperties = { ...f.appProperties, ...md.appProperties };
    if (md.properties !== undefined) f.properties = { ...f.properties, ...md.properties };
    if (md.starred !== undefined) f.starred = Boolean(md.starred);
    if (md.trashed !== undefined) {
      f.trashed = Boolean(md.trashed);
      f.trashedTime = f.trashed ? now() : undefined;
    }
    if (withContent) return;
    f.version = version++;
    f.modifiedTime = md.modifiedTime ?? now();
    logChange(f);
    for (const d of descendants(f.id)) if (md.trashed !== undefined) logChange(d);
  }
  function startSession(ctx, url, session) {
    const declared = ctx.req.headers['x-upload-content-length'];
    if (declared !== undefined && !/^\d+$/.test(String(declared))) throw new BadRequest('Invalid X-Upload-Content-Length.', 'invalid');
    if (session.target === null) {
      // Check the parent now, as Google does when the session starts.
      const parent = session.md.parents?.[0] === 'root' ? rootId : (session.md.parents?.[0] ?? rootId);
      const p = files.get(parent);
      if (!p || (driveOf(parent) && !(boolParam(url, 'supportsAllDrives') || boolParam(url, 'supportsTeamDrives')))) throw new BadRequest(`File not found: ${parent}.`, 'notFound', 'parentId', 404);
    }
    const id = randomBytes(18).toString('base64url');
    uploads.set(id, {
      ...session,
      token: ctx.token,
      url: new URL(url),
      mediaType: ctx.req.headers['x-upload-content-type'],
      declared: declared === undefined ? null : Number(declared),
      chunks: [],
      have: 0,
    });
    const loc = new URL(`${base()}${session.target ? `/upload/drive/v3/files/${session.target}` : '/upload/drive/v3/files'}`);
    for (const [k, v] of url.searchParams) if (k !== 'upload_id') loc.searchParams.set(k, v);
    loc.searchParams.set('upload_id', id);
    ctx.res.writeHead(200, { location: loc.toString(), 'x-guploader-uploadid': id, 'content-length': 0 });
    ctx.res.end();
  }
  async function uploadChunk(ctx, url) {
    const { req } = ctx;
    const id = url.searchParams.get('upload_id');
    const u = uploads.get(id ?? '');
    if (!u) {
      req.resume();
      return sendError(ctx, 404, 'notFound', 'No such upload session.');
    }
    ctx.token = u.token;
    const chunk = await readAll(req);
    const cr = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(String(req.headers['content-range'] ?? (chunk.length ? `bytes 0-${chunk.length - 1}/${chunk.length}` : 'bytes */0')).trim());
    if (!cr) throw new BadRequest('Malformed Content-Range.', 'badContent');
    const [, from, to, totalText] = cr;
    const total = totalText === '*' ? null : Number(totalText);
    if (total !== null && u.declared !== null && total !== u.declared) throw new BadRequest(`Content-Range total ${total} does not match X-Upload-Content-Length ${u.declared}.`, 'badContent');
    if (from !== undefined) {
      const start = Number(from);
      const end = Number(to);
      if (end < start || end - start + 1 !== chunk.length) throw new BadRequest(`Content-Range ${from}-${to} does not match the ${chunk.length} bytes sent.`, 'badContent');
      if (start > u.have) throw new BadRequest(`Chunk starts at ${start} but ${u.have} bytes were received.`, 'badContent');
      if (total !== null && end >= total) throw new BadRequest('Content-Range goes past the declared total.', 'badContent');
      const final = total !== null && end + 1 === total;
      if (!final && chunk.length < MIN_CHUNK) {
        throw new BadRequest(`Invalid request. The number of bytes uploaded is required to be equal or greater than ${MIN_CHUNK}, except for the final request (it's recommended to be the exact multiple of ${MIN_CHUNK}). The received request contained ${chunk.length} bytes, which does not meet this requirement.`, 'badContent');
      }
      const fresh = chunk.subarray(u.have - start);
      u.chunks.push(fresh);
      u.have += fresh.length;
    } else if (chunk.length) throw new BadRequest('A status query carries no body.', 'badContent');
    if (total !== null && u.have === total) {
      uploads.delete(id);
      const data = Buffer.concat(u.chunks);
      if (u.target === null) return sendJson(ctx, select(u.url, 'file', render(createFromMetadata(ctx, u.url, u.md, data, u.md.mimeType ? undefined : u.mediaType))));
      const f = files.get(u.target);
      if (!f) return sendError(ctx, 404, 'notFound', `File not found: ${u.target}.`);
      updateMetadata(ctx, u.url, f, u.md, true);
      setContent(f, data);
      logChange(f);
      return sendJson(ctx, select(u.url, 'file', render(f)));
    }
    ctx.res.writeHead(308, { ...(u.have > 0 ? { range: `bytes=0-${u.have - 1}` } : {}), 'content-length': 0 });
    ctx.res.end();
  }

  // ---- request classification and faults ----------------------------------------------------------------
  const classify = (method, path, url) => {
    if (path === '/token') return 'token';
    if (path === '/o/oauth2/v2/auth') return 'consent';
    if (path === '/drive/v3/about') return 'about';
    if (path === '/drive/v3/drives') return 'drives.list';
    if (path === '/drive/v3/changes/startPageToken') return 'changes.getStartPageToken';
    if (path === '/drive/v3/changes') return 'changes.list';
    if (path === '/drive/v3/files') return method === 'GET' ? 'files.list' : 'files.create';
    if (/^\/drive\/v3\/files\/[^/]+\/export$/.test(path)) return 'files.export';
    if (/^\/upload\/drive\/v3\/files(\/[^/]+)?$/.test(path)) return method === 'PUT' || url.searchParams.has('upload_id') ? 'upload.chunk' : method === 'POST' ? 'upload.create' : 'upload.update';
    if (/^\/drive\/v3\/files\/[^/]+$/.test(path)) return method === 'GET' ? (url.searchParams.get('alt') === 'media' ? 'files.media' : 'files.get') : method === 'PATCH' ? 'files.update' : method === 'DELETE' ? 'files.delete' : 'other';
    return 'other';
  };
  const fileIdOf = (path) => /^\/(?:upload\/)?drive\/v3\/files\/([^/]+)/.exec(path)?.[1];
  const matches = (rule, r) => {
    const mt = rule.match ?? {};
    if (mt.op !== undefined && (Array.isArray(mt.op) ? !mt.op.includes(r.op) : mt.op !== r.op)) return false;
    if (mt.method !== undefined && mt.method !== r.method) return false;
    if (mt.fileId !== undefined && mt.fileId !== r.fileId) return false;
    if (mt.urlIncludes !== undefined && !r.url.includes(mt.urlIncludes)) return false;
    return true;
  };
  const takeFault = (r) => {
    for (const rule of faults) {
      if (rule.left <= 0 || !matches(rule, r)) continue;
      rule.seen++;
      if (rule.seen < (rule.nth ?? 1)) continue;
      rule.left--;
      rule.fired++;
      return rule;
    }
    return null;
  };

  const handler = async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const path = url.pathname;
    const op = classify(req.method, path, url);
    const rec = { method: req.method, url: req.url, op, fileId: fileIdOf(path), authorization: req.headers.authorization ?? null, range: req.headers.range ?? null, contentRange: req.headers['content-range'] ?? null };
    requests.push(rec);
    counts.total++;
    counts[op] = (counts[op] ?? 0) + 1;
    const ctx = { req, res, token: null, cut: undefined };
    try {
      const rule = takeFault(rec);
      if (rule) {
        const a = rule.action;
        if (a.type === 'cut') ctx.cut = a.afterBytes;
        else if (a.type === 'reset') {
          req.socket.destroy();
          return;
        } else {
          req.resume();
          const headers = { ...(a.retryAfter !== undefined ? { 'retry-after': String(a.retryAfter) } : {}), ...(a.headers ?? {}) };
          const reason = a.reason ?? (a.status === 429 ? 'rateLimitExceeded' : a.status >= 500 ? 'backendError' : 'userRateLimitExceeded');
          const message = a.message ?? (reason === 'userRateLimitExceeded' ? 'User Rate Limit Exceeded' : reason === 'rateLimitExceeded' ? 'Rate Limit Exceeded' : reason === 'backendError' ? 'Backend Error' : reason);
          return sendError(ctx, a.status, reason, message, { headers });
        }
      }
      if (op === 'token') return await tokenEndpoint(ctx);
      if (op === 'consent') return consentEndpoint(ctx, url);
      // The session URI of a resumable upload carries its own authority (as with Google).
      if (op === 'upload.chunk' && req.method === 'PUT') return await uploadChunk(ctx, url);
      if (!authenticate(ctx, url)) {
        req.resume();
        return;
      }
      return await api(ctx, url, path);
    } catch (e) {
      if (!res.headersSent) {
        if (!req.readableEnded) req.resume();
        if (e instanceof BadRequest) return sendError(ctx, e.code, e.reason, e.message, { location: e.location });
        return sendError(ctx, 500, 'backendError', String(e?.stack ?? e));
      }
      res.destroy();
    }
  };

  const server = http.createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const url = `http://127.0.0.1:${port}`;
  const tokenUrl = `${url}/token`;

  const nativeType = (kind) => NATIVE[kind] ?? kind;
  return {
    /** 'http://127.0.0.1:PORT' (rootUrl is this plus '/'). */
    url,
    port,
    /** The OAuth2 token endpoint; JWT assertions must carry it as `aud`. */
    tokenUrl,
    /** The consent screen (authorization endpoint): it approves at once for registered clients. */
    authUrl: `${url}/o/oauth2/v2/auth`,
    /** Consents given: { clientId, scopes, accessType, prompt }. */
    consents,
    rootId,
    counts,
    requests,
    /** Registers a service account: its public key (PEM, KeyObject or JWK), optional key id, and which `sub` it may impersonate (true: any). */
    addServiceAccount({ email, publicKey, keyId, subjects }) {
      serviceAccounts.set(email, { publicKey: typeof publicKey === 'object' && !('asymmetricKeyType' in publicKey) ? createPublicKey({ key: publicKey, format: 'jwk' }) : createPublicKey(publicKey), keyId, subjects });
    },
    /** Registers an OAuth client and one refresh token of it. */
    addRefreshToken({ clientId, clientSecret, refreshToken, scopes, email = defaultUser.email }) {
      clients.set(clientId, { secret: clientSecret });
      refreshTokens.set(refreshToken, { clientId, scopes, email });
    },
    revokeRefreshToken(refreshToken) {
      refreshTokens.delete(refreshToken);
    },
    /** Mints an access token directly (no token endpoint round trip). */
    issueToken(scopes = [SCOPES.drive], email = defaultUser.email) {
      return issue(scopes, email);
    },
    /** Makes an access token invalid from now on (as if expired or revoked). */
    revokeToken(token) {
      tokens.delete(token);
    },
    /** From now on, searches with corpora=allDrives leave this shared drive's files out and answer incompleteSearch: true. */
    leaveOutOfAllDrives(driveId) {
      leftOutOfAllDrives.add(driveId);
    },
    /** Creates a shared drive; its id is also its root folder's id. */
    addSharedDrive({ name }) {
      const id = '0A' + randomBytes(9).toString('base64url') + 'Uk9PVA';
      const t = now();
      drives.set(id, { id, name, createdTime: t });
      files.set(id, { id, name, mimeType: FOLDER, parents: [], driveId: id, trashed: false, createdTime: t, modifiedTime: t, seq: seq++, version: version++, isRoot: true });
      return id;
    },
    addFolder({ name, parent, createdTime, modifiedTime }) {
      return create({ name, parent, mimeType: FOLDER, createdTime, modifiedTime }).id;
    },
    addFile({ name, parent, data = '', mimeType = 'application/octet-stream', createdTime, modifiedTime, appCreated }) {
      return create({ name, parent, data, mimeType, createdTime, modifiedTime, appCreated }).id;
    },
    /** A Docs Editors file (kind: document | spreadsheet | presentation | drawing, or a full mimeType) with its export bytes. */
    addNative({ name, parent, kind, exports = {}, createdTime, modifiedTime }) {
      const mimeType = nativeType(kind);
      if (!EXPORTS[mimeType]) throw new Error(`drive-server: not a native type: ${kind}`);
      const ex = {};
      for (const [m, b] of Object.entries(exports)) {
        if (!EXPORTS[mimeType].includes(m)) throw new Error(`drive-server: ${mimeType} does not export to ${m}`);
        ex[m] = Buffer.isBuffer(b) ? b : Buffer.from(b);
      }
      return create({ name, parent, mimeType, exports: ex, createdTime, modifiedTime }).id;
    },
    addShortcut({ name, parent, targetId }) {
      const t = files.get(targetId);
      if (!t) throw new Error(`drive-server: no file ${targetId}`);
      return create({ name, parent, mimeType: SHORTCUT, shortcutDetails: { targetId, targetMimeType: t.mimeType } }).id;
    },
    /** Replaces a file's content (new md5, size, revision, modifiedTime, version). */
    setContent(id, data) {
      const f = files.get(id);
      if (!f) throw new Error(`drive-server: no file ${id}`);
      setContent(f, data);
      logChange(f);
    },
    rename(id, name) {
      const f = files.get(id);
      f.name = name;
      touch(f);
    },
    trash(id, trashed = true) {
      const f = files.get(id);
      if (!f) throw new Error(`drive-server: no file ${id}`);
      f.trashed = trashed;
      f.trashedTime = trashed ? now() : undefined;
      f.version = version++;
      logChange(f);
      for (const d of descendants(id)) logChange(d);
    },
    /** Deletes permanently (with descendants). */
    remove(id) {
      const f = files.get(id);
      if (!f) throw new Error(`drive-server: no file ${id}`);
      removeFile(f);
    },
    /** The stored file as the API renders it (all fields), plus its bytes; undefined once deleted. */
    file(id) {
      const f = files.get(id);
      return f ? { ...render(f), data: f.data } : undefined;
    },
    /** Children ids of a folder, in creation order. */
    children(id) {
      return [...files.values()].filter((f) => f.parents.includes(id)).sort((a, b) => a.seq - b.seq).map((f) => f.id);
    },
    /**
     * Adds a fault rule: match { op?, method?, fileId?, urlIncludes? }; nth (the n-th matching request,
     * default 1) and times (how many requests from there, default 1); action
     * { type: 'status', status, reason?, message?, retryAfter?, headers? } | { type: 'cut', afterBytes } | { type: 'reset' }.
     * Returns the rule; its `fired` counts the requests it answered.
     */
    addFault(rule) {
      const r = { ...rule, seen: 0, fired: 0, left: rule.times ?? 1 };
      faults.push(r);
      return r;
    },
    clearFaults() {
      faults.length = 0;
    },
    resetCounts() {
      for (const k of Object.keys(counts)) counts[k] = 0;
      requests.length = 0;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
