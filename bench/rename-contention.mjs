// Renames finished temp files into blob shards on the main thread while a worker thread creates and
// writes new ones, as an import does (docs/decisions/temp-file-directories.md).
//
//   node bench/rename-contention.mjs [DIRS] [FILES]
//
// DIRS: temp subdirectories the worker creates files in, in turn (1 = one shared temp dir). Prints
// the mean rename time and the process's CPU (both threads, user and system).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

const dirs = Number(process.argv[2] ?? 16);
const N = Number(process.argv[3] ?? 4000);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rename-contention-'));
for (let i = 0; i < 256; i++) fs.mkdirSync(path.join(root, 'blobs', i.toString(16).padStart(2, '0')), { recursive: true });
for (let i = 0; i < dirs; i++) fs.mkdirSync(path.join(root, 'tmp', String(i)), { recursive: true });
const worker = new Worker(
  `const fs = require('node:fs'); const crypto = require('node:crypto'); const { parentPort, workerData: w } = require('node:worker_threads');
  const body = crypto.randomBytes(65536);
  for (let i = 0; i < w.N; i++) {
    const sha = crypto.createHash('sha256').update(String(i)).digest('hex');
    const p = w.root + '/tmp/' + (i % w.dirs) + '/t' + i;
    const fd = fs.openSync(p, 'wx', 0o600); fs.writeSync(fd, body); fs.closeSync(fd);
    parentPort.postMessage([p, sha]);
  }`,
  { eval: true, workerData: { root, N, dirs } },
);
const cpu0 = process.cpuUsage();
let done = 0;
let ns = 0n;
await new Promise((resolve) =>
  worker.on('message', ([p, sha]) => {
    const t = process.hrtime.bigint();
    fs.renameSync(p, path.join(root, 'blobs', sha.slice(0, 2), sha));
    ns += process.hrtime.bigint() - t;
    if (++done === N) resolve();
  }),
);
const cpu = process.cpuUsage(cpu0);
console.log(`${dirs} temp dir(s), ${N} files: rename ${(Number(ns) / 1e3 / N).toFixed(1)} µs each; CPU user ${Math.round(cpu.user / 1e3)} ms, system ${Math.round(cpu.system / 1e3)} ms`);
await worker.terminate();
fs.rmSync(root, { recursive: true, force: true });
