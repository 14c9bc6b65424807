// @ts-check
// A hash worker's thread (see hash-workers.ts): it hashes and writes the bytes of downloads that the
// main thread moves here. Plain JavaScript checked by tsc, so that it runs from src/ and dist/ alike.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

/** @typedef {{ message: string, code?: string }} WireError */
/** @typedef {{ op: string, id: number, path?: string, md5?: boolean, bufs?: ArrayBuffer[] }} Msg */
/**
 * @typedef {{ fd: number, path: string, sha: crypto.Hash, md5: crypto.Hash | null, size: number,
 *   error: WireError | null }} Open
 */

/** @type {{ youngMb: number, scavengeEvery: number }} */
const { youngMb, scavengeEvery } = workerData;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

/** @type {Map<number, Open>} */
const open = new Map();

/** @param {unknown} e @returns {WireError} */
const fail = (e) => ({ message: /** @type {Error} */ (e).message, code: /** @type {NodeJS.ErrnoException} */ (e).code });

// The bytes arrive as ArrayBuffers moved here from the main thread. They die once written, but V8
// frees them only in a GC, and as external memory they start one only after tens of MB (about 80 MB
// for 1 GiB through an isolate of its own). Every few MiB of bytes this fills the isolate's young
// generation with short-lived arrays: V8 then runs the scavenge it runs whenever a semi-space (a
// third of the young generation) is full, and frees the dead buffers in it. A scavenge costs what
// survives it, which here is little. Each array goes into `sink` (not only into a local), so that the
// optimizing compiler cannot drop it as unused.
let sinceScavenge = 0;
/** @type {number[] | null} */
let sink = null;
const fillYoung = () => {
  for (let i = 0; i < (youngMb * 1024 * 1024) / 2 / 32768; i++) sink = new Array(4096).fill(i);
  sink = null;
};
/** @param {number} n */
const received = (n) => {
  sinceScavenge += n;
  if (sinceScavenge >= scavengeEvery) {
    sinceScavenge = 0;
    fillYoung();
  }
};

/**
 * Creates a temp file (never an existing one); when its directory was removed meanwhile (an emptied
 * incoming/), makes it again and tries once more.
 * @param {string} file @returns {number}
 */
const createFile = (file) => {
  try {
    return fs.openSync(file, 'wx', 0o600);
  } catch (e) {
    if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'ENOENT') throw e;
    // incoming/N and incoming, not the data dir above them (as remakeTempDir in store/blob-store.ts).
    const dir = path.dirname(file);
    for (const d of [path.dirname(dir), dir]) {
      try {
        fs.mkdirSync(d, { mode: 0o700 });
      } catch (e2) {
        if (/** @type {NodeJS.ErrnoException} */ (e2).code !== 'EEXIST') throw e2;
      }
    }
    return fs.openSync(file, 'wx', 0o600);
  }
};

/** @param {ArrayBuffer[]} bufs */
const views = (bufs) => bufs.map((b) => new Uint8Array(b));

/** @param {number} fd @param {Uint8Array[]} vs */
const writeAll = (fd, vs) => {
  let rest = vs.filter((v) => v.length);
  while (rest.length) {
    let n = fs.writevSync(fd, rest);
    /** @type {Uint8Array[]} */
    const next = [];
    for (const v of rest) {
      if (n >= v.length) n -= v.length;
      else {
        next.push(n ? v.subarray(n) : v);
        n = 0;
      }
    }
    rest = next;
  }
};

/** @param {Msg} m @returns {number} the bytes received */
function whole(m) {
  const vs = views(m.bufs ?? []);
  let size = 0;
  try {
    const sha = crypto.createHash('sha256');
    const md5 = m.md5 ? crypto.createHash('md5') : null;
    for (const v of vs) {
      sha.update(v);
      md5?.update(v);
      size += v.length;
    }
    const fd = createFile(/** @type {string} */ (m.path));
    try {
      writeAll(fd, vs);
    } finally {
      fs.closeSync(fd);
    }
    port.postMessage({ id: m.id, digests: { sha256: sha.digest('hex'), md5: md5?.digest('base64'), size } });
  } catch (e) {
    port.postMessage({ id: m.id, error: fail(e) });
  }
  return size;
}

/** @param {Msg} m */
function openStream(m) {
  /** @type {Open} */
  const s = { fd: -1, path: m.path ?? '', sha: crypto.createHash('sha256'), md5: m.md5 ? crypto.createHash('md5') : null, size: 0, error: null };
  open.set(m.id, s);
  try {
    s.fd = createFile(s.path);
  } catch (e) {
    s.error = fail(e);
  }
}

/** @param {Msg} m @returns {number} the bytes received */
function chunk(m) {
  const s = /** @type {Open} */ (open.get(m.id));
  const vs = views(m.bufs ?? []);
  let n = 0;
  for (const v of vs) n += v.length;
  if (!s.error) {
    for (const v of vs) {
      s.sha.update(v);
      s.md5?.update(v);
    }
    s.size += n;
    try {
      writeAll(s.fd, vs);
    } catch (e) {
      s.error = fail(e);
    }
  }
  // The first write error rides on the acks, so the download stops early instead of at finish.
  port.postMessage(s.error ? { id: m.id, ack: n, error: s.error } : { id: m.id, ack: n });
  return n;
}

/** @param {Msg} m */
function finish(m) {
  const s = /** @type {Open} */ (open.get(m.id));
  open.delete(m.id);
  if (s.fd >= 0) fs.closeSync(s.fd);
  if (s.error) port.postMessage({ id: m.id, error: s.error });
  else port.postMessage({ id: m.id, digests: { sha256: s.sha.digest('hex'), md5: s.md5?.digest('base64'), size: s.size } });
}

/** @param {Msg} m */
function discard(m) {
  const s = open.get(m.id);
  open.delete(m.id);
  if (s && s.fd >= 0) fs.closeSync(s.fd);
  fs.rmSync(/** @type {string} */ (m.path), { force: true });
  port.postMessage({ id: m.id, digests: { sha256: '', size: 0 } });
}

/** @type {Record<string, (m: Msg) => number | void>} */
const ops = { whole, open: openStream, chunk, finish, discard };

port.on('message', (/** @type {Msg} */ m) => {
  let n = 0;
  try {
    n = ops[m.op]?.(m) ?? 0;
  } catch (e) {
    port.postMessage({ id: m.id, error: fail(e) });
  }
  // The scavenge that received() may start runs once nothing holds this message's buffers: a buffer
  // still held survives it, one that survives two is promoted to the old generation, and that only a
  // full GC sweeps (which external memory starts only after tens of MB). Held there, such buffers
  // added up to about 15 MB of dead bytes over 1 GiB.
  m.bufs = undefined;
  received(n);
});
