// A small in-memory GCS JSON-API server on 127.0.0.1 that the real @google-cloud/storage client
// works with (apiEndpoint: 'http://127.0.0.1:PORT'): buckets, listing with prefix/delimiter/paging,
// metadata (custom metadata kept), media downloads with Range and generation preconditions, multipart and resumable
// uploads (with correct crc32c and md5), deletes, testIamPermissions, per-bucket IAM, bearer-token
// checks, and GCS-style error bodies. Plain ESM JavaScript: runs under plain node (scripts/demo.mjs).
import http from 'node:http';
import https from 'node:https';
import { createHash, randomBytes } from 'node:crypto';
import { forceLoopbackListen } from './loopback.mjs';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/**
 * CRC32C (Castagnoli) of `buf` as GCS reports it: the 4 bytes big-endian, base64.
 * @param {Uint8Array} buf
 * @returns {string}
 */
export function crc32c(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

/** Every permission the server knows; a bucket without setPermissions grants them all. */
export const ALL_PERMISSIONS = ['storage.objects.list', 'storage.objects.get', 'storage.objects.create', 'storage.objects.delete', 'storage.buckets.get'];

/** A bearer token containing this marker is answered 401 (a revoked or deleted key, as GCS sees it). */
export const REVOKED_TOKEN_MARKER = 'revoked';

/** GCS object names: 1-1024 bytes of UTF-8, no CR or LF, not "." or "..". */
function nameProblem(name) {
  if (typeof name !== 'string' || name.length === 0) return 'Object name is required.';
  if (/[\r\n]/.test(name)) return 'Object name contains a carriage return or line feed.';
  if (Buffer.byteLength(name, 'utf8') > 1024) return 'Object name is longer than 1024 bytes.';
  if (name === '.' || name === '..') return 'Object name cannot be "." or "..".';
  return null;
}

/**
 * @typedef {object} GcsServer
 * @property {string} endpoint  'http://127.0.0.1:PORT' (https when started with tls): the client's apiEndpoint.
 * @property {number} port
 * @property {(name: string) => void} createBucket  idempotent.
 * @property {(bucket: string, key: string, body: Buffer | Uint8Array | string, contentType?: string, opts?: { contentEncoding?: string, storageClass?: string }) => Promise<void>} put
 *   stores an object directly (creating the bucket if needed), a new generation each time.
 * @property {(bucket: string, key: string) => { data: Buffer, generation: string, contentType: string } | undefined} get
 * @property {(bucket: string) => string[]} keys  the bucket's object names, sorted.
 * @property {(bucket: string, permissions: string[] | null) => void} setPermissions
 *   the IAM permissions callers hold on the bucket (null: all granted); enforced on every call.
 * @property {(on: boolean) => void} requireAuth  when on, a request without `Authorization: Bearer` is answered 401.
 * @property {(token: string) => void} revokeToken  that bearer token is answered 401 from now on.
 * @property {{ method: string, url: string, authorization: string | null }[]} requests  every request seen, in order.
 * @property {() => Promise<void>} stop
 */

/**
 * Starts the server on 127.0.0.1, port 0.
 * @param {{ tls?: { key: string | Buffer, cert: string | Buffer } }} [opts]  tls: serve https with this key and certificate.
 * @returns {Promise<GcsServer>}
 */
export async function startGcsServer(opts = {}) {
  forceLoopbackListen();
  /** @type {Map<string, Map<string, any>>} */
  const buckets = new Map();
  /** @type {Map<string, string[] | null>} */
  const permissions = new Map();
  const uploads = new Map();
  const revoked = new Set();
  let authRequired = false;
  let generation = 1_700_000_000_000_000;
  const sockets = new Set();
  const requests = [];
  const scheme = opts.tls ? 'https' : 'http';

  const md5 = (data) => createHash('md5').update(data).digest('base64');
  const meta = (bucket, o) => ({
    kind: 'storage#object',
    id: `${bucket}/${o.name}/${o.generation}`,
    selfLink: `${scheme}://127.0.0.1/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(o.name)}`,
    name: o.name,
    bucket,
    generation: String(o.generation),
    metageneration: '1',
    contentType: o.contentType,
    ...(o.contentEncoding ? { contentEncoding: o.contentEncoding } : {}),
    ...(o.metadata ? { metadata: o.metadata } : {}),
    size: String(o.data.length),
    md5Hash: md5(o.data),
    crc32c: crc32c(o.data),
    etag: `C${o.generation}`,
    storageClass: o.storageClass ?? 'STANDARD',
    timeCreated: o.updated,
    updated: o.updated,
  });
  const store = (bucket, name, data, contentType, extra = {}) => {
    const o = { name, data, contentType: contentType || 'application/octet-stream', generation: ++generation, updated: new Date().toISOString(), ...extra };
    buckets.get(bucket).set(name, o);
    return o;
  };
  const error = (res, code, reason, message, headers = {}) => {
    const body = JSON.stringify({ error: { code, message, errors: [{ message, domain: 'global', reason }] } });
    res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
  const json = (res, obj, status = 200) => {
    const body = JSON.stringify(obj);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const readAll = async (req) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    return Buffer.concat(chunks);
  };
  const granted = (b, perm) => (permissions.get(b) ?? ALL_PERMISSIONS).includes(perm);
  const denied = (res, perm, what) => error(res, 403, 'forbidden', `caller does not have ${perm} access to the Google Cloud Storage ${what}. Permission '${perm}' denied on resource (or it may not exist).`);
  /** Checks an `x-goog-hash` header (or crc32c / md5Hash in the metadata) against the received bytes. */
  const hashMismatch = (data, hashHeader, md = {}) => {
    const sent = Object.fromEntries(
      String(hashHeader ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1).trim()]),
    );
    const wantCrc = sent.crc32c ?? md.crc32c;
    const wantMd5 = sent.md5 ?? md.md5Hash;
    if (wantCrc && wantCrc !== crc32c(data)) return 'Provided CRC32C "' + wantCrc + '" doesn\'t match calculated CRC32C "' + crc32c(data) + '".';
    if (wantMd5 && wantMd5 !== md5(data)) return 'Provided MD5 hash "' + wantMd5 + '" doesn\'t match calculated MD5 hash "' + md5(data) + '".';
    return null;
  };
  /** Creates or replaces an object the way an upload does (permissions, preconditions, hashes). */
  const finishUpload = (res, u, data, hashHeader) => {
    const objs = buckets.get(u.bucket);
    if (!objs) return error(res, 404, 'notFound', 'The specified bucket does not exist.');
    const existing = objs.get(u.name);
    // Replacing an object also needs delete (roles/storage.objectCreator alone cannot overwrite).
    if (existing && !granted(u.bucket, 'storage.objects.delete')) return denied(res, 'storage.objects.delete', 'object');
    if (u.ifGenerationMatch !== null && u.ifGenerationMatch !== undefined) {
      const have = existing ? String(existing.generation) : '0';
      if (have !== String(u.ifGenerationMatch)) return error(res, 412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
    }
    const bad = hashMismatch(data, hashHeader, u.md);
    if (bad) return error(res, 400, 'invalid', bad);
    const extra = { ...(u.contentEncoding ? { contentEncoding: u.contentEncoding } : {}), ...(u.md?.metadata ? { metadata: u.md.metadata } : {}) };
    return json(res, meta(u.bucket, store(u.bucket, u.name, data, u.contentType, extra)));
  };

  const handler = async (req, res) => {
    const authorization = req.headers.authorization ?? null;
    requests.push({ method: req.method, url: req.url, authorization });
    try {
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
      if (bearer && (bearer.includes(REVOKED_TOKEN_MARKER) || revoked.has(bearer))) {
        req.resume();
        return error(res, 401, 'authError', 'Invalid Credentials', { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' });
      }
      if (authRequired && !bearer) {
        req.resume();
        return error(res, 401, 'required', 'Anonymous caller does not have storage.objects.list access to the Google Cloud Storage bucket.', { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' });
      }
      const url = new URL(req.url, 'http://x');
      // The raw (still percent-encoded) path: names may hold "/" and "%", so split before decoding.
      const rawPath = req.url.split('?')[0];
      const p = rawPath.replace(/^\/upload\/storage\/v1/, '/upload').replace(/^\/storage\/v1/, '');
      const dec = (s) => {
        try {
          return decodeURIComponent(s);
        } catch {
          return null;
        }
      };
      let m;
      if ((m = /^\/b\/([^/]+)\/iam\/testPermissions$/.exec(p)) && req.method === 'GET') {
        const b = dec(m[1]);
        if (!buckets.has(b)) return error(res, 404, 'notFound', 'The specified bucket does not exist.');
        const asked = url.searchParams.getAll('permissions');
        return json(res, { kind: 'storage#testIamPermissionsResponse', permissions: asked.filter((x) => granted(b, x)) });
      }
      if ((m = /^\/b\/([^/]+)$/.exec(p)) && req.method === 'GET') {
        const b = dec(m[1]);
        if (!buckets.has(b)) return error(res, 404, 'notFound', 'The specified bucket does not exist.');
        if (!granted(b, 'storage.buckets.get')) return denied(res, 'storage.buckets.get', 'bucket');
        return json(res, { kind: 'storage#bucket', id: b, name: b, location: 'US', storageClass: 'STANDARD', metageneration: '1' });
      }
      if ((m = /^\/b\/([^/]+)\/o$/.exec(p)) && req.method === 'GET') {
        const b = dec(m[1]);
        const objs = buckets.get(b);
        if (!objs) return error(res, 404, 'notFound', 'The specified bucket does not exist.');
        if (!granted(b, 'storage.objects.list')) return denied(res, 'storage.objects.list', 'bucket');
        const prefix = url.searchParams.get('prefix') ?? '';
        const delimiter = url.searchParams.get('delimiter') ?? '';
        const maxParam = Number(url.searchParams.get('maxResults') ?? 1000);
        const max = Number.isFinite(maxParam) && maxParam > 0 ? Math.min(maxParam, 1000) : 1000;
        const token = url.searchParams.get('pageToken');
        let after = null;
        if (token) {
          try {
            const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
            if (t.p !== prefix || t.d !== delimiter || typeof t.a !== 'string') throw new Error('token for another listing');
            after = t.a;
          } catch {
            return error(res, 400, 'invalid', 'Invalid page token.');
          }
        }
        // Code-unit order, as the keys sort in JS; paging resumes after the last name consumed.
        const names = [...objs.keys()].filter((n) => n.startsWith(prefix)).sort((a, c) => (a < c ? -1 : a > c ? 1 : 0));
        const items = [];
        const prefixes = [];
        let last = null;
        let more = false;
        for (const n of names) {
          if (after !== null && n <= after) continue;
          let entry = n;
          if (delimiter) {
            const i = n.indexOf(delimiter, prefix.length);
            if (i >= 0) entry = n.slice(0, i + delimiter.length);
          }
          // Names under a prefix already returned on this page roll into it (they sort together).
          if (entry !== n && prefixes[prefixes.length - 1] === entry) {
            last = n;
            continue;
          }
          if (items.length + prefixes.length >= max) {
            more = true;
            break;
          }
          if (entry !== n) prefixes.push(entry);
          else items.push(meta(b, objs.get(n)));
          last = n;
        }
        const out = { kind: 'storage#objects', items };
        if (prefixes.length) out.prefixes = prefixes;
        if (more && last !== null) out.nextPageToken = Buffer.from(JSON.stringify({ a: last, p: prefix, d: delimiter })).toString('base64url');
        return json(res, out);
      }
      if ((m = /^\/b\/([^/]+)\/o\/(.+)$/.exec(p))) {
        const b = dec(m[1]);
        const name = dec(m[2]);
        if (name === null) return error(res, 400, 'invalid', 'The object name is not valid percent-encoding.');
        const objs = buckets.get(b);
        if (!objs) return error(res, 404, 'notFound', 'The specified bucket does not exist.');
        const o = objs.get(name);
        if (req.method === 'DELETE') {
          if (!granted(b, 'storage.objects.delete')) return denied(res, 'storage.objects.delete', 'object');
          if (!o) return error(res, 404, 'notFound', `No such object: ${b}/${name}`);
          const want = url.searchParams.get('ifGenerationMatch');
          if (want !== null && want !== String(o.generation)) return error(res, 412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
          objs.delete(name);
          res.writeHead(204);
          return res.end();
        }
        if (req.method !== 'GET') return error(res, 405, 'methodNotAllowed', `${req.method} is not supported here.`);
        if (!granted(b, 'storage.objects.get')) return denied(res, 'storage.objects.get', 'object');
        const pinned = url.searchParams.get('generation');
        if (!o || (pinned !== null && String(o.generation) !== pinned)) return error(res, 404, 'notFound', `No such object: ${b}/${name}`);
        const ifMatch = url.searchParams.get('ifGenerationMatch');
        if (ifMatch !== null && String(o.generation) !== ifMatch) return error(res, 412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
        if (url.searchParams.get('alt') !== 'media') return json(res, meta(b, o));
        const total = o.data.length;
        let start = 0;
        let end = total - 1;
        const headers = {
          'content-type': o.contentType,
          ...(o.contentEncoding ? { 'content-encoding': o.contentEncoding } : {}),
          'x-goog-generation': String(o.generation),
          'x-goog-metageneration': '1',
          'x-goog-stored-content-length': String(total),
          'x-goog-stored-content-encoding': o.contentEncoding ?? 'identity',
          'x-goog-hash': `crc32c=${crc32c(o.data)},md5=${md5(o.data)}`,
          'accept-ranges': 'bytes',
          etag: `C${o.generation}`,
        };
        const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
        if (range && (range[1] !== '' || range[2] !== '')) {
          if (range[1] === '') {
            // Suffix range: the last N bytes.
            start = Math.max(0, total - Number(range[2]));
          } else {
            start = Number(range[1]);
            if (range[2] !== '') end = Math.min(Number(range[2]), total - 1);
          }
          if (start >= total) {
            return error(res, 416, 'requestedRangeNotSatisfiable', 'The requested range cannot be satisfied.', { 'content-range': `bytes */${total}` });
          }
          res.writeHead(206, { ...headers, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${total}` });
        } else {
          res.writeHead(200, { ...headers, 'content-length': total });
        }
        return res.end(o.data.subarray(start, end + 1));
      }
      if ((m = /^\/upload\/b\/([^/]+)\/o$/.exec(p)) && req.method === 'POST') {
        const b = dec(m[1]);
        if (!buckets.has(b)) {
          req.resume();
          return error(res, 404, 'notFound', 'The specified bucket does not exist.');
        }
        if (!granted(b, 'storage.objects.create')) {
          req.resume();
          return denied(res, 'storage.objects.create', 'object');
        }
        const type = url.searchParams.get('uploadType');
        const body = await readAll(req);
        if (type === 'multipart') {
          const boundary = /boundary="?([^";]+)"?/.exec(req.headers['content-type'] ?? '')?.[1];
          if (!boundary) return error(res, 400, 'invalid', 'Multipart upload without a boundary.');
          const parts = body
            .toString('latin1')
            .split(`--${boundary}`)
            .slice(1, -1)
            .map((part) => {
              const i = part.indexOf('\r\n\r\n');
              return { head: part.slice(0, i), body: Buffer.from(part.slice(i + 4, part.length - 2), 'latin1') };
            });
          if (parts.length !== 2) return error(res, 400, 'invalid', 'Multipart upload needs a metadata part and a media part.');
          const md = JSON.parse(parts[0].body.toString('utf8'));
          const name = md.name ?? url.searchParams.get('name');
          const problem = nameProblem(name);
          if (problem) return error(res, 400, 'invalid', problem);
          const contentType = /content-type:\s*([^\r\n]+)/i.exec(parts[1].head)?.[1] ?? md.contentType;
          const ifGenerationMatch = url.searchParams.get('ifGenerationMatch');
          return finishUpload(res, { bucket: b, name, contentType, contentEncoding: md.contentEncoding, md, ifGenerationMatch }, parts[1].body, req.headers['x-goog-hash']);
        }
        if (type === 'resumable') {
          const md = body.length ? JSON.parse(body.toString('utf8')) : {};
          const name = md.name ?? url.searchParams.get('name');
          const problem = nameProblem(name);
          if (problem) return error(res, 400, 'invalid', problem);
          const id = randomBytes(8).toString('hex');
          uploads.set(id, {
            bucket: b,
            name,
            md,
            contentType: md.contentType ?? req.headers['x-upload-content-type'],
            contentEncoding: md.contentEncoding,
            ifGenerationMatch: url.searchParams.get('ifGenerationMatch'),
            chunks: [],
            have: 0,
          });
          // Through a proxy the Host header names the proxy, so the session URI goes through it too.
          res.writeHead(200, { location: `${scheme}://${req.headers.host}/upload/storage/v1/b/${encodeURIComponent(b)}/o?uploadType=resumable&upload_id=${id}`, 'content-length': 0 });
          return res.end();
        }
        return error(res, 400, 'invalid', `unsupported uploadType ${type}`);
      }
      if ((m = /^\/upload\/b\/([^/]+)\/o$/.exec(p)) && req.method === 'PUT') {
        const id = url.searchParams.get('upload_id');
        const u = uploads.get(id);
        if (!u) {
          req.resume();
          return error(res, 404, 'notFound', 'No such upload session.');
        }
        const chunk = await readAll(req);
        // Content-Range forms: "bytes A-B/T" (a chunk), "bytes A-*/T" (the rest in this request),
        // "bytes */T" (status query or the final empty chunk); T may be "*" (not known yet).
        const cr = /^bytes (?:(\d+)-(\d+|\*)|\*)\/(\d+|\*)$/.exec(String(req.headers['content-range'] ?? '').trim());
        if (!cr) return error(res, 400, 'invalid', 'Missing or malformed Content-Range.');
        const [, from, to, totalText] = cr;
        if (from !== undefined) {
          const start = Number(from);
          if (start > u.have) return error(res, 400, 'invalid', `Chunk starts at ${start} but ${u.have} bytes were received.`);
          const fresh = chunk.subarray(u.have - start);
          u.chunks.push(fresh);
          u.have += fresh.length;
        }
        const total = totalText === '*' ? null : Number(totalText);
        const restInThisRequest = to === '*';
        if ((total !== null && u.have >= total) || (restInThisRequest && total === null)) {
          if (total !== null && u.have !== total) return error(res, 400, 'invalid', `Upload declared ${total} bytes but sent ${u.have}.`);
          uploads.delete(id);
          return finishUpload(res, u, Buffer.concat(u.chunks), req.headers['x-goog-hash']);
        }
        res.writeHead(308, { ...(u.have > 0 ? { range: `bytes=0-${u.have - 1}` } : {}), 'content-length': 0 });
        return res.end();
      }
      req.resume();
      return error(res, 404, 'notFound', `Not Found: ${req.method} ${url.pathname}`);
    } catch (e) {
      return error(res, 500, 'backendError', String(e?.message ?? e));
    }
  };
  const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : http.createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    endpoint: `${scheme}://127.0.0.1:${port}`,
    port,
    createBucket(name) {
      if (!buckets.has(name)) buckets.set(name, new Map());
    },
    async put(bucket, key, body, contentType, o = {}) {
      const problem = nameProblem(key);
      if (problem) throw new Error(`gcs-server: ${problem} (${JSON.stringify(key)})`);
      this.createBucket(bucket);
      const extra = {};
      if (o.contentEncoding) extra.contentEncoding = o.contentEncoding;
      if (o.storageClass) extra.storageClass = o.storageClass;
      store(bucket, key, Buffer.isBuffer(body) ? body : Buffer.from(body), contentType, extra);
    },
    get(bucket, key) {
      const o = buckets.get(bucket)?.get(key);
      return o ? { data: o.data, generation: String(o.generation), contentType: o.contentType, ...(o.metadata ? { metadata: o.metadata } : {}) } : undefined;
    },
    keys(bucket) {
      return [...(buckets.get(bucket)?.keys() ?? [])].sort((a, c) => (a < c ? -1 : a > c ? 1 : 0));
    },
    setPermissions(bucket, perms) {
      permissions.set(bucket, perms);
    },
    requireAuth(on) {
      authRequired = on;
    },
    revokeToken(token) {
      revoked.add(token);
    },
    requests,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
