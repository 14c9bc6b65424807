import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { CloudportError, headerValue, parseRetryAfter } from '../../shared/errors.js';

/**
 * Drive's resumable upload (https://developers.google.com/drive/api/guides/manage-uploads#resumable):
 * a session is opened with the file's metadata, then the bytes go up in chunks of a multiple of
 * 256 KiB; a chunk whose request fails is asked about (`Content-Range: bytes *\/total`) and sent
 * again from the byte Drive last kept. The generated client has no resumable uploads, so this speaks
 * the protocol over node's http through the provider's agents (the endpoint policy applies).
 */

/** Chunk size: a multiple of 256 KiB (Google's rule); one chunk is held in memory to be sent again. */
export const CHUNK_BYTES = 8 * 1024 * 1024;
/** Attempts per chunk before the upload fails (the job's own retries start a new session). */
const CHUNK_ATTEMPTS = 4;
const TIMEOUT_MS = 120_000;

type Agents = { http: http.Agent; https: https.Agent };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function send(method: string, url: string, headers: Record<string, string | number>, body: Buffer | undefined, agents: Agents, signal?: AbortSignal): Promise<Answer> {
  const u = new URL(url);
  const lib = u.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      { method, headers: { ...headers, 'content-length': body?.length ?? 0 }, agent: u.protocol === 'http:' ? agents.http : agents.https, timeout: TIMEOUT_MS, ...(signal ? { signal } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          // Answers are JSON metadata or errors: a few KiB.
          if (n <= 1024 * 1024) chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new CloudportError('unexpected', `no answer from Google Drive within ${TIMEOUT_MS / 1000} s`, { temporary: true })));
    req.on('error', reject);
    req.end(body);
  });
}

/** A failed answer as the error the gaxios mapper reads (status, headers, Google's error JSON). */
function answerError(a: Answer): Error {
  let data: unknown;
  try {
    data = JSON.parse(a.body.toString('utf8'));
  } catch {
    data = undefined;
  }
  return Object.assign(new Error(`HTTP ${a.status}`), { status: a.status, response: { status: a.status, headers: a.headers, data } });
}

const temporary = (status: number) => status === 429 || status >= 500;

export interface ResumableUpload {
  /** `${rootUrl}upload/drive/v3/files` (create) or `…/files/{id}` (update). */
  url: string;
  method: 'POST' | 'PATCH';
  /** Query parameters of the session request (fields, supportsAllDrives). */
  params: Record<string, string>;
  metadata: Record<string, unknown>;
  contentType: string;
  size: number;
  body: Readable;
  token: () => Promise<string>;
  agents: Agents;
  signal?: AbortSignal;
}

/** Runs one resumable upload and answers the file's metadata (the fields asked for). */
export async function resumableUpload(o: ResumableUpload): Promise<Record<string, unknown>> {
  // The body's errors have a listener from the start, also while the session opens (the iterator
  // below attaches its own only when first read, and reports the error then).
  o.body.on('error', () => undefined);
  const iterator = (o.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let sessionUrl: URL;
  try {
    sessionUrl = await openSession();
  } catch (e) {
    await iterator.return?.();
    throw e;
  }

  async function openSession(): Promise<URL> {
    const start = new URL(o.url);
    for (const [k, v] of Object.entries({ ...o.params, uploadType: 'resumable' })) start.searchParams.set(k, v);
    const session = await send(
      o.method,
      start.href,
      { authorization: `Bearer ${await o.token()}`, 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-type': o.contentType, 'x-upload-content-length': o.size },
      Buffer.from(JSON.stringify(o.metadata)),
      o.agents,
      o.signal,
    );
    const location = headerValue(session.headers, 'location');
    if (session.status !== 200 || !location) throw answerError(session);
    // The session URI carries its own authority (no token is sent to it); its connections go through
    // the same agents, so the endpoint policy still decides where they may go.
    const url = new URL(location, start);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new CloudportError('unexpected', 'Google Drive answered an upload session that is not a URL', { temporary: false });
    return url;
  }

  let sent = 0;
  let pending: Buffer = Buffer.alloc(0);
  let ended = false;
  // One byte past a chunk is read before it is sent, so a body of an exact multiple of the chunk
  // size knows its last chunk is the last.
  const fill = async () => {
    const parts: Buffer[] = [pending];
    let n = pending.length;
    while (n <= CHUNK_BYTES && !ended) {
      const next = await iterator.next();
      if (next.done) ended = true;
      else {
        parts.push(next.value);
        n += next.value.length;
      }
    }
    pending = Buffer.concat(parts);
  };
  try {
    return await sendChunks();
  } catch (e) {
    // The body is not read on after a failure: its file or socket is released now.
    await iterator.return?.();
    (o.body as Readable & { destroy?: (e?: Error) => void }).destroy?.();
    throw e;
  }

  async function sendChunks(): Promise<Record<string, unknown>> {
    for (;;) {
      try {
        await fill();
      } catch (e) {
        throw new CloudportError('unexpected', `reading the content to upload failed: ${(e as Error).message}`, { temporary: true });
      }
      const final = ended && pending.length <= CHUNK_BYTES;
      const chunk = final ? pending : pending.subarray(0, CHUNK_BYTES);
      if (final && sent + chunk.length !== o.size) {
        throw new CloudportError('unexpected', `the upload body held ${sent + chunk.length} bytes, not the ${o.size} declared`, { temporary: false });
      }
      let offset = 0; // bytes of this chunk Drive has
      for (let attempt = 1; ; attempt++) {
        let a: Answer | null = null;
        let failure: unknown = null;
        try {
          const part = chunk.subarray(offset);
          const range = part.length ? `bytes ${sent + offset}-${sent + chunk.length - 1}/${o.size}` : `bytes */${o.size}`;
          a = await send('PUT', sessionUrl.href, { 'content-range': range, 'content-type': o.contentType }, part, o.agents, o.signal);
        } catch (e) {
          if (o.signal?.aborted) throw e;
          failure = e;
        }
        if (a && (a.status === 200 || a.status === 201)) {
          if (!final) throw new CloudportError('unexpected', 'Google Drive finished the upload before the last chunk', { temporary: false });
          try {
            return JSON.parse(a.body.toString('utf8')) as Record<string, unknown>;
          } catch {
            return {};
          }
        }
        if (a?.status === 308) {
          const kept = /bytes=0-(\d+)/.exec(headerValue(a.headers, 'range') ?? '');
          const have = kept ? Number(kept[1]) + 1 : 0;
          if (have === sent + chunk.length) break; // this chunk is in: on to the next
          if (have < sent || have > sent + chunk.length) throw new CloudportError('unexpected', `Google Drive lost part of the upload (it holds ${have} bytes, ${sent} were confirmed)`, { temporary: true });
          // An answer that kept nothing more counts as a failed attempt (no endless resending).
          const progressed = have - sent > offset;
          offset = have - sent;
          if (progressed) continue;
          if (attempt >= CHUNK_ATTEMPTS) throw new CloudportError('unexpected', 'Google Drive keeps no more of the upload', { temporary: true });
          continue;
        }
        if (a && !temporary(a.status)) throw answerError(a);
        if (attempt >= CHUNK_ATTEMPTS) throw failure ?? answerError(a!);
        // A failed chunk: wait (Retry-After when given), then ask Drive how much it has.
        const wait = (a && parseRetryAfter(headerValue(a.headers, 'retry-after'))) ?? 0;
        await new Promise((r) => setTimeout(r, Math.min(30_000, wait * 1000 || 250 * 2 ** attempt)));
        const status = await send('PUT', sessionUrl.href, { 'content-range': `bytes */${o.size}` }, undefined, o.agents, o.signal).catch(() => null);
        if (status?.status === 200 || status?.status === 201) return JSON.parse(status.body.toString('utf8') || '{}') as Record<string, unknown>;
        if (status?.status === 308) {
          const kept = /bytes=0-(\d+)/.exec(headerValue(status.headers, 'range') ?? '');
          const have = kept ? Number(kept[1]) + 1 : 0;
          if (have < sent || have > sent + chunk.length) throw new CloudportError('unexpected', 'Google Drive lost part of the upload', { temporary: true });
          offset = have - sent;
          if (offset === chunk.length) break;
        } else if (status && status.status === 404) throw new CloudportError('unexpected', 'the upload session expired', { temporary: true });
      }
      sent += chunk.length;
      pending = pending.subarray(chunk.length);
      if (final) throw new CloudportError('unexpected', 'Google Drive did not confirm the finished upload', { temporary: true });
    }
  }
}
