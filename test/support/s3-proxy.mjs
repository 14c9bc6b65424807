// A loopback reverse proxy of ours in front of a storage server (fauxqs, azurite, our GCS server, or
// any plain-HTTP upstream): counts requests by operation, injects faults (S3-style error answers,
// cut bodies, stalled bodies, rewritten small answers) for chosen requests, and can hold back every
// answer of chosen operations for a fixed time, as a remote region's time to first byte (`delays`).
//
// Requests are forwarded with their original Host header, so SigV4 signatures (which cover host) stay
// valid and fauxqs can still read a virtual-hosted bucket from it. Bodies stream both ways with
// backpressure; nothing is buffered except for the 'transform' action.
import http from 'node:http';
import { forceLoopbackListen } from './loopback.mjs';

/**
 * @typedef {'GetObject' | 'HeadObject' | 'ListObjects' | 'PutObject' | 'DeleteObject' | 'HeadBucket' | 'other'} OpKind
 * @typedef {{ op: OpKind, key: string | null, bucket: string | null }} Classified
 * @typedef {(method: string, url: string, headers?: http.IncomingHttpHeaders) => Classified} Classifier
 * @typedef {{ total: number } & Record<OpKind, number> & Record<string, number>} Counts
 *
 * @typedef {{ type: 'status', status: number, code?: string, message?: string,
 *   headers?: Record<string, string>, body?: string }} StatusAction
 *   Answers without contacting the upstream. The body defaults to an S3 XML error built from code and
 *   message; `body` replaces it (GCS JSON, Azure XML, '' for a redirect). HEAD answers carry no body.
 * @typedef {{ type: 'cut', afterBytes: number }} CutAction
 *   Forwards; sends the upstream status and headers (full Content-Length), then destroys the client
 *   socket after `afterBytes` body bytes.
 * @typedef {{ type: 'stall', afterBytes: number, ms: number }} StallAction
 *   Like cut, but holds the connection silent for `ms` before destroying it.
 * @typedef {{ type: 'transform', fn: (body: string) => string }} TransformAction
 *   Buffers a (small) upstream answer, rewrites its body and sends it with the new length.
 * @typedef {{ type: 'flip', at: number }} FlipAction
 *   Forwards the answer with its length unchanged but one body byte (at offset `at` of this
 *   response's body, e.g. of a ranged answer) XOR-ed with 0xff: corruption only a checksum catches.
 * @typedef {{ type: 'before', run: () => unknown }} BeforeAction
 *   Awaits `run()` (e.g. to overwrite the object in the upstream), then forwards the request unchanged.
 * @typedef {StatusAction | CutAction | StallAction | TransformAction | FlipAction | BeforeAction} FaultAction
 * @typedef {{ method?: string, op?: string, keyIncludes?: string, credential?: string }} FaultMatch
 *   `credential`: only requests whose Authorization names this key id (SigV4 `Credential=<id>/`),
 *   e.g. to answer an unknown key the way S3 does.
 * @typedef {{ match?: FaultMatch, times?: number, action: FaultAction }} FaultRule
 *   `times`: how many matching requests the rule applies to (default 1; Infinity for all).
 * @typedef {Partial<Record<OpKind, number>>} Delays
 *   Milliseconds each request of that kind waits in the proxy before it goes on (to the upstream, or to
 *   its fault): its answer's first byte comes that much later, as from a distant server. Requests are
 *   delayed independently (no queueing), so concurrency hides the delay as it does against a real
 *   region; a fault's stall or cut comes on top of it.
 *
 * @typedef {object} Proxy
 * @property {string} endpoint   'http://127.0.0.1:PORT'
 * @property {number} port
 * @property {Counts} counts     live object (reset in place): total plus one counter per kind
 * @property {(string | null)[]} gets  keys of every GetObject seen, in order
 * @property {Counts} peak       live object (reset with the counts): most requests of each kind open at once
 * @property {() => void} resetCounts
 * @property {(rule: FaultRule) => void} addFault  rules are tried in the order added
 * @property {() => void} clearFaults
 * @property {(delays: Delays) => void} setDelays  replaces the delays (an empty object: none)
 * @property {() => Promise<void>} stop  destroys every open connection (client and upstream side)
 */

/** Query parameters that turn a GET on an object into some other operation (tagging, acl, ...). */
const OBJECT_SUBRESOURCES = ['acl', 'attributes', 'legal-hold', 'retention', 'tagging', 'torrent', 'uploadId', 'restore', 'select'];
/** Query parameters a bucket GET may carry and still be a listing (v1 or v2); anything else is a subresource. */
const LIST_PARAMS = new Set(['list-type', 'prefix', 'delimiter', 'marker', 'max-keys', 'encoding-type', 'continuation-token', 'start-after', 'fetch-owner', 'x-id', 'optional-object-attributes']);
const isPresignParam = (/** @type {string} */ p) => p.toLowerCase().startsWith('x-amz-');

/**
 * Splits a raw request target into its path and query without URL normalisation, so keys such as
 * 'a/../b' or 'x\\y' are seen exactly as sent.
 * @param {string} url
 */
function splitTarget(url) {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return { path, query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)) };
}

/** decodeURIComponent that never throws (a malformed escape is kept as sent). */
function safeDecode(/** @type {string} */ s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Classifies an S3 request. Path-style by default ('/bucket', '/bucket/key...'); like fauxqs, a Host
 * whose name has a dot and is not an IPv4 address names the bucket (virtual-hosted style).
 * Kinds: GetObject (ranged or not), HeadObject, ListObjects (v1 or v2), HeadBucket, DeleteObject, and
 * PutObject for every request that writes an object: single PUT, copy, and each multipart step
 * (create, part, complete). Everything else (ListBuckets, bucket create/delete, DeleteObjects batch,
 * multipart abort/list, tagging/acl, ...) is 'other'.
 * @type {Classifier}
 */
export function s3Op(method, url, headers = {}) {
  const { path, query } = splitTarget(url);
  const hostname = String(headers.host ?? '').replace(/:\d+$/, '');
  const virtualHost = hostname.includes('.') && !/^\d+\.\d+\.\d+\.\d+$/.test(hostname) && !hostname.startsWith('[');
  let bucket;
  let rawKey;
  if (virtualHost) {
    bucket = hostname.slice(0, hostname.indexOf('.'));
    rawKey = path.slice(1);
  } else {
    const slash = path.indexOf('/', 1);
    bucket = safeDecode(slash === -1 ? path.slice(1) : path.slice(1, slash));
    rawKey = slash === -1 ? '' : path.slice(slash + 1);
  }
  const key = rawKey === '' ? null : safeDecode(rawKey);
  const params = [...query.keys()];
  /** @type {OpKind} */
  let op = 'other';
  if (!bucket) {
    op = 'other'; // ListBuckets
  } else if (key === null) {
    if (method === 'HEAD') op = 'HeadBucket';
    else if (method === 'GET' && params.every((p) => LIST_PARAMS.has(p) || isPresignParam(p))) op = 'ListObjects';
  } else if (method === 'HEAD') {
    op = 'HeadObject';
  } else if (method === 'GET') {
    if (!OBJECT_SUBRESOURCES.some((p) => query.has(p))) op = 'GetObject';
  } else if (method === 'PUT') {
    if (!['acl', 'tagging', 'retention', 'legal-hold'].some((p) => query.has(p))) op = 'PutObject';
  } else if (method === 'POST') {
    if (query.has('uploads') || query.has('uploadId')) op = 'PutObject';
  } else if (method === 'DELETE') {
    if (!query.has('uploadId') && !query.has('tagging')) op = 'DeleteObject';
  }
  return { op, key, bucket: bucket || null };
}

/** Classifies a GCS JSON-API request (as the @google-cloud/storage client sends them). @type {Classifier} */
export function gcsOp(method, url) {
  const u = new URL(url, 'http://x');
  const path = u.pathname;
  let m;
  if ((m = /^\/(?:storage\/v1|upload\/storage\/v1)\/b\/([^/]+)\/o\/(.+)$/.exec(path))) {
    const key = safeDecode(m[2] ?? '');
    const bucket = m[1] ?? null;
    if (method === 'DELETE') return { op: 'DeleteObject', key, bucket };
    return { op: u.searchParams.get('alt') === 'media' ? 'GetObject' : 'HeadObject', key, bucket };
  }
  if ((m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(path)) && method === 'GET') return { op: 'ListObjects', key: null, bucket: m[1] ?? null };
  if (/^\/upload\//.test(path)) return { op: 'PutObject', key: u.searchParams.get('name'), bucket: null };
  return { op: 'other', key: null, bucket: null };
}

/** Classifies an Azure Blob request (path-style, as against azurite: /account/container/blob). @type {Classifier} */
export function azureOp(method, url) {
  const u = new URL(url, 'http://x');
  const parts = u.pathname.split('/');
  const bucket = parts[2] ?? null;
  const key = parts.length > 3 ? safeDecode(parts.slice(3).join('/')) : null;
  const comp = u.searchParams.get('comp');
  if (!key) return { op: comp === 'list' ? 'ListObjects' : 'other', key: null, bucket };
  if (method === 'GET' && !comp) return { op: 'GetObject', key, bucket };
  if (method === 'HEAD') return { op: 'HeadObject', key, bucket };
  if (method === 'PUT') return { op: 'PutObject', key, bucket };
  if (method === 'DELETE') return { op: 'DeleteObject', key, bucket };
  return { op: 'other', key, bucket };
}

const escapeXml = (/** @type {string} */ s) =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);

/** The S3 error document. @param {string} code @param {string} message */
export const s3ErrorXml = (code, message) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message><RequestId>proxy</RequestId></Error>`;

/** Hop-by-hop headers: they describe one connection and are never forwarded. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade'];

/**
 * Copies headers without the hop-by-hop ones (and those the Connection header names).
 * @param {http.IncomingHttpHeaders} headers
 * @param {string[]} [drop] more names to leave out
 */
function forwardable(headers, drop = []) {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const skip = new Set([...HOP_BY_HOP, ...named, ...drop]);
  /** @type {http.OutgoingHttpHeaders} */
  const out = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !skip.has(k)) out[k] = v;
  return out;
}

/**
 * Starts the proxy on 127.0.0.1 and a random port.
 * @param {{ upstream: string, classify?: Classifier, delays?: Delays }} opts  upstream e.g. 'http://127.0.0.1:PORT'
 * @returns {Promise<Proxy>}
 */
export async function startProxy({ upstream, classify = s3Op, delays = {} }) {
  forceLoopbackListen();
  const target = new URL(upstream);
  if (target.protocol !== 'http:') throw new Error(`startProxy: only http upstreams are supported, got ${upstream}`);
  // Our own pool, so stop() can close the upstream side too.
  const agent = new http.Agent({ keepAlive: true });
  const counts = /** @type {Counts} */ ({});
  /** @type {(string | null)[]} */
  const gets = [];
  const peak = /** @type {Counts} */ ({});
  /** Requests of each kind open now (from arrival until the answer is finished or abandoned). */
  const open = /** @type {Record<string, number>} */ ({});
  /** @type {Required<FaultRule>[]} */
  let faults = [];
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  /** @type {Set<NodeJS.Timeout>} */
  const timers = new Set();
  /** @type {Delays} */
  let delayBy = { ...delays };

  const resetCounts = () => {
    for (const k of Object.keys(counts)) delete counts[k];
    Object.assign(counts, { total: 0, GetObject: 0, HeadObject: 0, ListObjects: 0, PutObject: 0, DeleteObject: 0, HeadBucket: 0, other: 0 });
    gets.length = 0;
    for (const k of Object.keys(peak)) delete peak[k];
    Object.assign(peak, { total: 0 });
  };
  resetCounts();

  /** Finds (and consumes one use of) the first rule matching this request. */
  const takeFault = (/** @type {string} */ method, /** @type {Classified} */ { op, key }, /** @type {http.IncomingHttpHeaders} */ headers) => {
    const rule = faults.find(
      ({ match, times }) =>
        times > 0 &&
        (!match.credential || String(headers.authorization ?? '').includes(`Credential=${match.credential}/`)) &&
        (!match.method || match.method.toUpperCase() === method) &&
        (!match.op || match.op === op) &&
        (match.keyIncludes == null || (key ?? '').includes(match.keyIncludes)),
    );
    if (rule) rule.times--;
    return rule?.action;
  };

  /**
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   * @param {boolean} expectsContinue  the client sent "Expect: 100-continue" and waits for our go-ahead
   */
  const handle = (req, res, expectsContinue) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    let classified;
    try {
      classified = classify(method, url, req.headers);
    } catch {
      classified = /** @type {Classified} */ ({ op: 'other', key: null, bucket: null });
    }
    counts.total++;
    counts[classified.op] = (counts[classified.op] ?? 0) + 1;
    if (classified.op === 'GetObject') gets.push(classified.key);
    for (const k of [classified.op, 'total']) {
      open[k] = (open[k] ?? 0) + 1;
      peak[k] = Math.max(peak[k] ?? 0, open[k]);
    }
    res.once('close', () => {
      open[classified.op]--;
      open.total--;
    });
    const action = takeFault(method, classified, req.headers);
    const wait = delayBy[classified.op] ?? 0;
    if (!(wait > 0)) return answer(req, res, expectsContinue, method, url, action);
    // Held back: the body (if any) waits in the socket; a client gone meanwhile gets nothing.
    req.pause();
    const t = setTimeout(() => {
      timers.delete(t);
      if (res.destroyed || req.socket.destroyed) return;
      answer(req, res, expectsContinue, method, url, action);
    }, wait);
    timers.add(t);
  };

  /**
   * Carries out a request's fault action, or forwards it.
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   * @param {boolean} expectsContinue
   * @param {string} method
   * @param {string} url
   * @param {FaultAction | undefined} action
   */
  const answer = (req, res, expectsContinue, method, url, action) => {
    if (action?.type === 'before') {
      req.pause();
      Promise.resolve()
        .then(() => action.run())
        .then(
          () => forward(req, res, expectsContinue, method, url, undefined),
          () => {
            res.writeHead(502, { 'content-type': 'text/plain', connection: 'close' });
            res.end('proxy: before-hook failed');
          },
        );
      return;
    }

    if (action?.type === 'status') {
      // Answered here; a client waiting on 100-continue gets the error instead, as from S3.
      req.resume();
      const body = method === 'HEAD' ? '' : (action.body ?? s3ErrorXml(action.code ?? 'InternalError', action.message ?? action.code ?? ''));
      const contentType = action.body === undefined || action.body.trimStart().startsWith('<') ? 'application/xml' : 'application/json';
      /** @type {http.OutgoingHttpHeaders} */
      const headers = { 'content-type': contentType, 'content-length': Buffer.byteLength(body) };
      if (action.body === undefined) headers['x-amz-request-id'] = 'proxy';
      // The client held its body back and will not send it now: this connection cannot carry another request.
      if (expectsContinue) headers.connection = 'close';
      for (const [k, v] of Object.entries(action.headers ?? {})) headers[k.toLowerCase()] = v;
      res.writeHead(action.status, headers);
      res.end(body);
      return;
    }
    forward(req, res, expectsContinue, method, url, action);
  };

  /**
   * Sends the request upstream and the answer back, applying a cut / stall / transform / flip action.
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   * @param {boolean} expectsContinue
   * @param {string} method
   * @param {string} url
   * @param {FaultAction | undefined} action
   */
  const forward = (req, res, expectsContinue, method, url, action) => {
    // Expect is answered by us (below), so the upstream never sees it.
    const up = http.request({ host: target.hostname, port: target.port, method, path: url, headers: forwardable(req.headers, ['expect']), agent });
    if (expectsContinue) res.writeContinue();
    req.pipe(up);

    // If either end goes away early, tear the other down instead of leaving it half-read.
    req.on('error', () => up.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    // Set once a cut/stall fault has taken over: from then on upstream errors are expected and must
    // not end the client's connection early.
    let tripped = false;
    up.on('error', () => {
      if (tripped || res.destroyed) return;
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain', connection: 'close' });
        res.end('proxy: upstream request failed');
      } else res.destroy();
    });

    up.on('response', (upRes) => {
      const status = upRes.statusCode ?? 502;
      // transfer-encoding is re-framed by our own server; content-length passes through unchanged.
      const headers = forwardable(upRes.headers, ['transfer-encoding']);
      upRes.on('error', () => {
        if (!tripped) res.destroy();
      });

      if (action?.type === 'transform') {
        /** @type {Buffer[]} */
        const chunks = [];
        upRes.on('data', (c) => chunks.push(c));
        upRes.on('end', () => {
          const body = Buffer.from(action.fn(Buffer.concat(chunks).toString('utf8')));
          res.writeHead(status, { ...headers, 'content-length': body.length });
          res.end(body);
        });
        return;
      }
      res.writeHead(status, headers);
      if (action?.type === 'flip') {
        // Same length, one byte changed: streamed through, nothing buffered.
        let seen = 0;
        upRes.on('data', (/** @type {Buffer} */ chunk) => {
          const i = action.at - seen;
          seen += chunk.length;
          if (i >= 0 && i < chunk.length) {
            chunk = Buffer.from(chunk);
            chunk[i] = (chunk[i] ?? 0) ^ 0xff;
          }
          if (!res.write(chunk)) {
            upRes.pause();
            res.once('drain', () => upRes.resume());
          }
        });
        upRes.on('end', () => res.end());
        return;
      }
      if (action?.type !== 'cut' && action?.type !== 'stall') {
        upRes.pipe(res);
        return;
      }

      // cut / stall: pass `afterBytes` body bytes through (with backpressure), then drop the client
      // socket right away (cut) or after `ms` of silence (stall).
      const limit = Math.max(0, action.afterBytes ?? 0);
      let sent = 0;
      const trip = () => {
        tripped = true;
        upRes.destroy(); // the rest of the upstream body is not needed
        const socket = res.socket;
        if (!socket) return;
        const drop = () => socket.destroy();
        const act = action.type === 'cut' ? drop : () => {
          const t = setTimeout(() => {
            timers.delete(t);
            drop();
          }, action.ms ?? 60_000);
          timers.add(t);
        };
        // An empty write on the socket calls back once everything written before it (headers and the
        // allowed bytes) has been handed to the kernel; destroying earlier would discard those bytes.
        socket.write('', () => act());
      };
      if (limit === 0 && method !== 'HEAD') {
        res.flushHeaders();
        return trip();
      }
      upRes.on('data', (/** @type {Buffer} */ chunk) => {
        if (tripped) return;
        const part = chunk.length > limit - sent ? chunk.subarray(0, limit - sent) : chunk;
        sent += part.length;
        const more = res.write(part);
        if (sent >= limit) trip();
        else if (!more) {
          upRes.pause();
          res.once('drain', () => upRes.resume());
        }
      });
      upRes.on('end', () => {
        if (!tripped) res.end(); // the whole body was shorter than afterBytes
      });
    });
  };

  const server = http.createServer((req, res) => handle(req, res, false));
  // With a 'checkContinue' listener Node leaves "Expect: 100-continue" to us, so a status fault can
  // refuse the body the way S3 does, before the client sends it.
  server.on('checkContinue', (req, res) => handle(req, res, true));
  // The SDK keeps sockets alive; a short server-side idle timeout makes it race a closing socket.
  server.keepAliveTimeout = 65_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(undefined));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  /** @type {Promise<void> | undefined} */
  let stopping;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    counts,
    gets,
    peak,
    resetCounts,
    addFault(rule) {
      faults.push({ match: rule.match ?? {}, times: rule.times ?? 1, action: rule.action });
    },
    clearFaults() {
      faults = [];
    },
    setDelays(d) {
      delayBy = { ...d };
    },
    stop() {
      stopping ??= new Promise((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        agent.destroy();
      });
      return stopping;
    },
  };
}
