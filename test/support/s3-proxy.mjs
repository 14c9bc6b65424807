// A loopback reverse proxy of ours in front of a storage server: counts requests by S3 operation and
// injects faults (S3-style error answers, cut bodies, stalled bodies) for chosen requests.
import http from 'node:http';
import { forceLoopbackListen } from './loopback.mjs';

/** Classifies a path-style S3 request. */
export function s3Op(method, url) {
  const u = new URL(url, 'http://x');
  const parts = u.pathname.split('/').filter((p, i) => i > 0);
  const hasKey = parts.length > 1 && parts.slice(1).join('/') !== '';
  const key = hasKey ? decodeURIComponent(u.pathname.slice(parts[0].length + 2)) : null;
  let op = 'other';
  if (!hasKey) {
    if (method === 'GET' && (u.searchParams.has('list-type') || u.searchParams.size === 0 || u.searchParams.has('prefix'))) op = 'ListObjects';
    else if (method === 'HEAD') op = 'HeadBucket';
  } else if (method === 'GET') op = 'GetObject';
  else if (method === 'HEAD') op = 'HeadObject';
  else if (method === 'PUT' || method === 'POST') op = 'PutObject';
  else if (method === 'DELETE') op = 'DeleteObject';
  return { op, key, bucket: parts[0] ?? null };
}

const xmlError = (code, message) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>proxy</RequestId></Error>`;

/** Classifies a GCS JSON-API request (as the @google-cloud/storage client sends them). */
export function gcsOp(method, url) {
  const u = new URL(url, 'http://x');
  const path = u.pathname;
  let m;
  if ((m = /^\/(?:storage\/v1|upload\/storage\/v1)\/b\/([^/]+)\/o\/(.+)$/.exec(path))) {
    const key = decodeURIComponent(m[2]);
    if (method === 'DELETE') return { op: 'DeleteObject', key, bucket: m[1] };
    return { op: u.searchParams.get('alt') === 'media' ? 'GetObject' : 'HeadObject', key, bucket: m[1] };
  }
  if ((m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(path)) && method === 'GET') return { op: 'ListObjects', key: null, bucket: m[1] };
  if (/^\/upload\//.test(path)) return { op: 'PutObject', key: u.searchParams.get('name'), bucket: null };
  return { op: 'other', key: null, bucket: null };
}

/** Classifies an Azure Blob request (path-style, as against azurite: /account/container/blob). */
export function azureOp(method, url) {
  const u = new URL(url, 'http://x');
  const parts = u.pathname.split('/');
  const key = parts.length > 3 ? decodeURIComponent(parts.slice(3).join('/')) : null;
  const comp = u.searchParams.get('comp');
  if (!key) return { op: comp === 'list' ? 'ListObjects' : 'other', key: null, bucket: parts[2] ?? null };
  if (method === 'GET' && !comp) return { op: 'GetObject', key, bucket: parts[2] };
  if (method === 'HEAD') return { op: 'HeadObject', key, bucket: parts[2] };
  if (method === 'PUT') return { op: 'PutObject', key, bucket: parts[2] };
  if (method === 'DELETE') return { op: 'DeleteObject', key, bucket: parts[2] };
  return { op: 'other', key, bucket: parts[2] };
}

/**
 * @param {{ upstream: string, classify?: typeof s3Op }} opts  e.g. 'http://127.0.0.1:PORT'
 * fault rule: { match: { method?, op?, keyIncludes? }, times?: number (default 1; Infinity for all),
 *   action: { type: 'status', status, code, message?, headers? } | { type: 'cut', afterBytes } | { type: 'stall', afterBytes, ms }
 *     | { type: 'transform', fn: (body: string) => string } (rewrites a small upstream response) }
 */
export async function startProxy({ upstream, classify = s3Op }) {
  forceLoopbackListen();
  const target = new URL(upstream);
  const counts = {};
  const resetCounts = () => {
    for (const k of Object.keys(counts)) delete counts[k];
    Object.assign(counts, { total: 0, GetObject: 0, HeadObject: 0, ListObjects: 0, PutObject: 0, DeleteObject: 0, HeadBucket: 0, other: 0 });
  };
  resetCounts();
  /** Keys of every GetObject seen, in order. */
  const gets = [];
  let faults = [];
  const sockets = new Set();

  const server = http.createServer((req, res) => {
    const { op, key } = classify(req.method, req.url);
    counts.total++;
    counts[op] = (counts[op] ?? 0) + 1;
    if (op === 'GetObject') gets.push(key);
    const rule = faults.find(
      (f) =>
        f.times > 0 &&
        (!f.match.method || f.match.method === req.method) &&
        (!f.match.op || f.match.op === op) &&
        (!f.match.keyIncludes || (key ?? '').includes(f.match.keyIncludes)),
    );
    if (rule) rule.times--;
    const action = rule?.action;
    if (action?.type === 'status') {
      req.resume();
      // An action may carry its own body (GCS JSON, Azure XML); the default is S3's XML error.
      const body = req.method === 'HEAD' ? '' : (action.body ?? xmlError(action.code, action.message ?? action.code));
      res.writeHead(action.status, { 'content-type': action.body ? 'application/json' : 'application/xml', 'content-length': Buffer.byteLength(body), ...(action.headers ?? {}) });
      res.end(body);
      return;
    }
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        if (action?.type === 'transform') {
          // Small responses only: buffer, rewrite, send with the new length.
          const chunks = [];
          upRes.on('data', (c) => chunks.push(c));
          upRes.on('end', () => {
            const body = Buffer.from(action.fn(Buffer.concat(chunks).toString('utf8')));
            res.writeHead(upRes.statusCode ?? 502, { ...upRes.headers, 'content-length': body.length });
            res.end(body);
          });
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (!action) return void upRes.pipe(res);
        let sent = 0;
        upRes.on('data', (chunk) => {
          if (sent >= action.afterBytes) return;
          const room = action.afterBytes - sent;
          const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
          sent += part.length;
          res.write(part);
          if (sent >= action.afterBytes) {
            upRes.destroy();
            if (action.type === 'cut') res.socket?.destroy();
            else setTimeout(() => res.socket?.destroy(), action.ms ?? 60_000).unref();
          }
        });
        upRes.on('end', () => {
          if (sent < action.afterBytes) res.end();
        });
      },
    );
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    counts,
    gets,
    resetCounts() {
      resetCounts();
      gets.length = 0;
    },
    addFault(rule) {
      faults.push({ times: 1, ...rule });
    },
    clearFaults() {
      faults = [];
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
