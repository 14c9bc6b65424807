// A small in-memory GCS JSON-API server on 127.0.0.1 that the real @google-cloud/storage client
// works with (apiEndpoint: 'http://127.0.0.1:PORT'): buckets, listing with prefix/delimiter/paging,
// metadata, media downloads with Range and generation preconditions, multipart and resumable
// uploads (with correct crc32c and md5), deletes, testIamPermissions, and GCS-style error bodies.
import http from 'node:http';
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
export function crc32c(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

const ALL_PERMISSIONS = ['storage.objects.list', 'storage.objects.get', 'storage.objects.create', 'storage.objects.delete', 'storage.buckets.get'];

export async function startGcsServer() {
  forceLoopbackListen();
  /** @type {Map<string, Map<string, any>>} */
  const buckets = new Map();
  /** @type {Map<string, string[] | null>} */
  const permissions = new Map();
  const uploads = new Map();
  let generation = 1_700_000_000_000_000;
  const sockets = new Set();

  const meta = (bucket, o) => ({
    kind: 'storage#object',
    id: `${bucket}/${o.name}/${o.generation}`,
    name: o.name,
    bucket,
    generation: String(o.generation),
    metageneration: '1',
    contentType: o.contentType,
    size: String(o.data.length),
    md5Hash: createHash('md5').update(o.data).digest('base64'),
    crc32c: crc32c(o.data),
    etag: `C${o.generation}`,
    storageClass: o.storageClass ?? 'STANDARD',
    timeCreated: o.updated,
    updated: o.updated,
  });
  const store = (bucket, name, data, contentType) => {
    const o = { name, data, contentType: contentType || 'application/octet-stream', generation: ++generation, updated: new Date().toISOString() };
    buckets.get(bucket).set(name, o);
    return o;
  };
  const error = (res, code, reason, message) => {
    const body = JSON.stringify({ error: { code, message, errors: [{ reason, message, domain: 'global' }] } });
    res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body) });
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

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      const p = url.pathname.replace(/^\/storage\/v1/, '').replace(/^\/upload\/storage\/v1/, '/upload');
      let m;
      if ((m = /^\/b\/([^/]+)\/iam\/testPermissions$/.exec(p))) {
        const b = decodeURIComponent(m[1]);
        if (!buckets.has(b)) return error(res, 404, 'notFound', 'The specified bucket does not exist.');
        const asked = url.searchParams.getAll('permissions');
        const granted = permissions.get(b) ?? ALL_PERMISSIONS;
        return json(res, { kind: 'storage#testIamPermissionsResponse', permissions: asked.filter((x) => granted.includes(x)) });
      }
      if ((m = /^\/b\/([^/]+)$/.exec(p)) && req.method === 'GET') {
        const b = decodeURIComponent(m[1]);
        if (!buckets.has(b)) return error(res, 404, 'notFound', 'The specified bucket does not exist.');
        return json(res, { kind: 'storage#bucket', id: b, name: b, location: 'US', storageClass: 'STANDARD' });
      }
      const granted = (b, perm) => (permissions.get(b) ?? ALL_PERMISSIONS).includes(perm);
      if ((m = /^\/b\/([^/]+)\/o$/.exec(p)) && req.method === 'GET') {
        const b = decodeURIComponent(m[1]);
        const objs = buckets.get(b);
        if (!objs) return error(res, 404, 'notFound', 'The specified bucket does not exist.');
        if (!granted(b, 'storage.objects.list')) return error(res, 403, 'forbidden', 'caller does not have storage.objects.list access.');
        const prefix = url.searchParams.get('prefix') ?? '';
        const delimiter = url.searchParams.get('delimiter') ?? '';
        const max = Math.min(Number(url.searchParams.get('maxResults') ?? 1000), 1000);
        const token = url.searchParams.get('pageToken');
        const after = token ? Buffer.from(token, 'base64url').toString('utf8') : null;
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
          if (entry !== n) {
            if (prefixes.includes(entry)) {
              last = n;
              continue;
            }
            if (items.length + prefixes.length >= max) {
              more = true;
              break;
            }
            prefixes.push(entry);
            last = n;
            continue;
          }
          if (items.length + prefixes.length >= max) {
            more = true;
            break;
          }
          items.push(meta(b, objs.get(n)));
          last = n;
        }
        const out = { kind: 'storage#objects', items };
        if (prefixes.length) out.prefixes = prefixes;
        if (more && last !== null) out.nextPageToken = Buffer.from(last).toString('base64url');
        return json(res, out);
      }
      if ((m = /^\/b\/([^/]+)\/o\/(.+)$/.exec(p))) {
        const b = decodeURIComponent(m[1]);
        const name = decodeURIComponent(m[2]);
        const objs = buckets.get(b);
        if (!objs) return error(res, 404, 'notFound', 'The specified bucket does not exist.');
        const o = objs.get(name);
        if (req.method === 'DELETE') {
          if (!granted(b, 'storage.objects.delete')) return error(res, 403, 'forbidden', 'caller does not have storage.objects.delete access.');
          if (!o) return error(res, 404, 'notFound', `No such object: ${b}/${name}`);
          objs.delete(name);
          res.writeHead(204);
          return res.end();
        }
        if (!granted(b, 'storage.objects.get')) return error(res, 403, 'forbidden', 'caller does not have storage.objects.get access.');
        const wantGen = url.searchParams.get('generation') ?? url.searchParams.get('ifGenerationMatch');
        if (!o || (url.searchParams.get('generation') && String(o.generation) !== wantGen)) return error(res, 404, 'notFound', `No such object: ${b}/${name}`);
        if (url.searchParams.get('ifGenerationMatch') && String(o.generation) !== wantGen) return error(res, 412, 'conditionNotMet', 'Precondition Failed');
        if (url.searchParams.get('alt') !== 'media') return json(res, meta(b, o));
        const total = o.data.length;
        let start = 0;
        let end = total - 1;
        const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
        const headers = {
          'content-type': o.contentType,
          'x-goog-generation': String(o.generation),
          'x-goog-metageneration': '1',
          'x-goog-stored-content-length': String(total),
          'x-goog-hash': `crc32c=${crc32c(o.data)},md5=${createHash('md5').update(o.data).digest('base64')}`,
          etag: `C${o.generation}`,
        };
        if (range) {
          start = Number(range[1]);
          if (range[2]) end = Math.min(Number(range[2]), total - 1);
          if (start >= total && total > 0) {
            res.writeHead(416, { 'content-range': `bytes */${total}` });
            return res.end();
          }
          res.writeHead(206, { ...headers, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${total}` });
        } else {
          res.writeHead(200, { ...headers, 'content-length': total });
        }
        return res.end(o.data.subarray(start, end + 1));
      }
      if ((m = /^\/upload\/b\/([^/]+)\/o$/.exec(p)) && req.method === 'POST') {
        const b = decodeURIComponent(m[1]);
        if (!buckets.has(b)) return error(res, 404, 'notFound', 'The specified bucket does not exist.');
        if (!granted(b, 'storage.objects.create')) return error(res, 403, 'forbidden', 'caller does not have storage.objects.create access.');
        const type = url.searchParams.get('uploadType');
        const body = await readAll(req);
        if (type === 'multipart') {
          const boundary = /boundary="?([^";]+)"?/.exec(req.headers['content-type'] ?? '')?.[1];
          const parts = body
            .toString('latin1')
            .split(`--${boundary}`)
            .slice(1, -1)
            .map((part) => {
              const i = part.indexOf('\r\n\r\n');
              return { head: part.slice(0, i), body: Buffer.from(part.slice(i + 4, part.length - 2), 'latin1') };
            });
          const md = JSON.parse(parts[0].body.toString('utf8'));
          const name = md.name ?? url.searchParams.get('name');
          const contentType = /content-type:\s*([^\r\n]+)/i.exec(parts[1].head)?.[1] ?? md.contentType;
          return json(res, meta(b, store(b, name, parts[1].body, contentType)));
        }
        if (type === 'resumable') {
          const md = body.length ? JSON.parse(body.toString('utf8')) : {};
          const id = randomBytes(8).toString('hex');
          uploads.set(id, { bucket: b, name: md.name ?? url.searchParams.get('name'), contentType: md.contentType ?? req.headers['x-upload-content-type'], chunks: [] });
          const host = req.headers.host;
          res.writeHead(200, { location: `http://${host}/upload/storage/v1/b/${encodeURIComponent(b)}/o?uploadType=resumable&upload_id=${id}`, 'content-length': 0 });
          return res.end();
        }
        return error(res, 400, 'invalid', `unsupported uploadType ${type}`);
      }
      if ((m = /^\/upload\/b\/([^/]+)\/o$/.exec(p)) && req.method === 'PUT') {
        const u = uploads.get(url.searchParams.get('upload_id'));
        if (!u) return error(res, 404, 'notFound', 'upload not found');
        u.chunks.push(await readAll(req));
        const range = req.headers['content-range'] ?? '';
        const total = /\/(\d+)$/.exec(range)?.[1];
        const have = u.chunks.reduce((n, c) => n + c.length, 0);
        if (total === undefined || Number(total) !== have) {
          res.writeHead(308, { range: `bytes=0-${have - 1}`, 'content-length': 0 });
          return res.end();
        }
        uploads.delete(url.searchParams.get('upload_id'));
        return json(res, meta(u.bucket, store(u.bucket, u.name, Buffer.concat(u.chunks), u.contentType)));
      }
      return error(res, 404, 'notFound', `no route for ${req.method} ${url.pathname}`);
    } catch (e) {
      return error(res, 500, 'backendError', String(e?.message ?? e));
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    createBucket(name) {
      if (!buckets.has(name)) buckets.set(name, new Map());
    },
    async put(bucket, key, body, contentType) {
      this.createBucket(bucket);
      store(bucket, key, Buffer.isBuffer(body) ? body : Buffer.from(body), contentType);
    },
    /** null grants everything. */
    setPermissions(bucket, perms) {
      permissions.set(bucket, perms);
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
