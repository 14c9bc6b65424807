import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { HashWorkers, SinkError } from '../../src/core/jobs/import/hash-workers.js';
import { bytes } from '../helpers/s3env.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-hashers-'));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');

describe('hash workers', () => {
  const pool = new HashWorkers(2);
  afterAll(async () => {
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('whole: hashes and writes in one message (never over an existing file); stream: chunk by chunk with backpressure', async () => {
    const data = bytes(300_000, 9);
    const a = path.join(dir, 'a');
    expect(await pool.whole(a, [data.subarray(0, 1000), data.subarray(1000)], true)).toEqual({ sha256: sha(data), md5: md5(data), size: data.length });
    expect(fs.readFileSync(a).equals(data)).toBe(true);
    expect((fs.statSync(a).mode & 0o777).toString(8)).toBe('600');
    await expect(pool.whole(a, [Buffer.from('x')], false)).rejects.toMatchObject({ code: 'EEXIST' });

    const big = bytes(9 * 1024 * 1024 + 17, 5); // more than the high-water mark in flight
    const b = path.join(dir, 'b');
    const s = pool.stream(b, false);
    for (let i = 0; i < big.length; i += 65_536) await s.write(big.subarray(i, i + 65_536));
    expect(await s.finish()).toEqual({ sha256: sha(big), size: big.length });
    expect(fs.readFileSync(b).equals(big)).toBe(true);
    // A slice of a larger buffer (or pooled memory) is copied and stays the caller's; a chunk that
    // owns its whole ArrayBuffer (as HTTP body chunks do) moves to the worker without a copy.
    const chunk = Buffer.from('still mine');
    const own = Buffer.from(new Uint8Array(bytes(100_000, 3)).buffer);
    const ownCopy = Buffer.from(own);
    const c = pool.stream(path.join(dir, 'c'), true);
    await c.write(chunk);
    await c.write(own);
    const both = Buffer.concat([Buffer.from('still mine'), ownCopy]);
    expect(await c.finish()).toEqual({ sha256: sha(both), md5: md5(both), size: both.length });
    expect(chunk.toString()).toBe('still mine');
    expect(own.length).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'c')).equals(both)).toBe(true);
  });

  it('many streams at once on one worker, with batches and empty chunks, each file intact', async () => {
    const one = new HashWorkers(1);
    try {
      const files = Array.from({ length: 6 }, (_, i) => bytes(700_000 + i * 4097, i + 1));
      const out = await Promise.all(
        files.map(async (f, i) => {
          const s = one.stream(path.join(dir, `m${i}`), i % 2 === 0);
          for (let o = 0; o < f.length; o += 30_000 + i) {
            await s.write(Buffer.from(new Uint8Array(f.subarray(o, o + 30_000 + i)).buffer));
            await s.write(Buffer.alloc(0));
          }
          return s.finish();
        }),
      );
      out.forEach((d, i) => {
        expect(d).toEqual({ sha256: sha(files[i]!), ...(i % 2 === 0 ? { md5: md5(files[i]!) } : {}), size: files[i]!.length });
        expect(fs.readFileSync(path.join(dir, `m${i}`)).equals(files[i]!)).toBe(true);
      });
    } finally {
      await one.close();
    }
  });

  it('a folder removed meanwhile (an emptied incoming/) is made again for a new file, whole or streamed', async () => {
    const data = randomBytes(5000);
    const want = { sha256: sha(data), size: data.length };
    // (The chunks are handed over to the worker: each call gets a copy.)
    expect(await pool.whole(path.join(dir, 'gone1', 'a'), [Buffer.from(data)], false)).toMatchObject(want);
    const s = pool.stream(path.join(dir, 'gone2', 'b'), false);
    await s.write(Buffer.from(data));
    expect(await s.finish()).toMatchObject(want);
    expect(fs.readFileSync(path.join(dir, 'gone2', 'b'))).toEqual(data);
  });

  it('a write error (here: a file where the folder should be) stops the stream at the next write and names its errno; discard removes a temp file', async () => {
    fs.writeFileSync(path.join(dir, 'not-a-folder'), 'x');
    const s = pool.stream(path.join(dir, 'not-a-folder', 'x'), false);
    let err: unknown = null;
    try {
      for (let i = 0; i < 200 && !err; i++) {
        await s.write(Buffer.alloc(65_536));
        await new Promise((r) => setTimeout(r, 1));
      }
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).code).toBe('ENOTDIR');
    await expect(s.finish()).rejects.toMatchObject({ code: 'ENOTDIR' });

    const d = path.join(dir, 'd');
    const t = pool.stream(d, false);
    await t.write(Buffer.from('partial'));
    await t.discard();
    expect(fs.existsSync(d)).toBe(false);
  });

  it('frees the bytes it has written without a runtime V8 flag: 96 MiB through one worker keep the dead buffers to a few MiB, and no `gc` appears', async () => {
    const one = new HashWorkers(1);
    try {
      const before = process.memoryUsage().arrayBuffers;
      let peak = before;
      const s = one.stream(path.join(dir, 'freed'), false);
      const h = createHash('sha256');
      for (let i = 0; i < 96 * 16; i++) {
        // A fresh ArrayBuffer per chunk, as a socket delivers them: it moves to the worker and dies there.
        const chunk = Buffer.from(new ArrayBuffer(65_536));
        chunk.writeUInt32LE(i, 0);
        h.update(chunk);
        await s.write(chunk);
        if (i % 16 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      }
      expect((await s.finish()).sha256).toBe(h.digest('hex'));
      // This process's allocator counts a moved buffer until it is freed, in whichever isolate.
      // Measured: 5–7 MB with the worker's scavenges, 49 MB without them.
      expect((peak - before) / 1048576).toBeLessThan(24);
    } finally {
      await one.close();
    }
    // V8 flags are process-wide: had anything set --expose-gc (here or in the worker), a new context would see `gc`.
    if (!process.execArgv.some((a) => /^--expose[-_]gc/.test(a))) expect(vm.runInNewContext('typeof gc')).toBe('undefined');
  });

  it('nothing in src/ changes V8 flags at run time', () => {
    const src = path.resolve(import.meta.dirname, '../../src');
    const hits = (fs.readdirSync(src, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /setFlagsFromString|expose[-_]gc/.test(fs.readFileSync(path.join(src, f), 'utf8')));
    expect(hits).toEqual([]);
  });
});
