import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HashWorkers, SinkError } from '../../src/core/hash-workers.js';
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
    expect(await pool.whole(a, [data.subarray(0, 1000), data.subarray(1000)], data.length, true)).toEqual({ sha256: sha(data), md5: md5(data), size: data.length });
    expect(fs.readFileSync(a).equals(data)).toBe(true);
    expect((fs.statSync(a).mode & 0o777).toString(8)).toBe('600');
    await expect(pool.whole(a, [Buffer.from('x')], 1, false)).rejects.toMatchObject({ code: 'EEXIST' });

    const big = bytes(9 * 1024 * 1024 + 17, 5); // more than the high-water mark in flight
    const b = path.join(dir, 'b');
    const s = pool.stream(b, false);
    for (let i = 0; i < big.length; i += 65_536) await s.write(big.subarray(i, i + 65_536));
    expect(await s.finish()).toEqual({ sha256: sha(big), size: big.length });
    expect(fs.readFileSync(b).equals(big)).toBe(true);
    // The caller's chunks are copied, never detached.
    const chunk = Buffer.from('still mine');
    const c = pool.stream(path.join(dir, 'c'), true);
    await c.write(chunk);
    expect(chunk.toString()).toBe('still mine');
    expect((await c.finish()).md5).toBe(md5(chunk));
  });

  it('a write error (here: no such folder) stops the stream at the next write and names its errno; discard removes a temp file', async () => {
    const s = pool.stream(path.join(dir, 'missing', 'x'), false);
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
    expect((err as SinkError).code).toBe('ENOENT');
    await expect(s.finish()).rejects.toMatchObject({ code: 'ENOENT' });

    const d = path.join(dir, 'd');
    const t = pool.stream(d, false);
    await t.write(Buffer.from('partial'));
    await t.discard();
    expect(fs.existsSync(d)).toBe(false);
  });
});
