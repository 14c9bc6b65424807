/**
 * Temp files of earlier layouts: the build that first spread temp files kept them in
 * <data-dir>/tmp/0 … f. The sweep removes a dead process's leftovers there and then the directories,
 * so that a version whose sweep removes every entry of tmp/ as a file (2e5ccc3 and before) never meets one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { TempFiles } from '../../src/store/blob-store.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-review2-temp-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

it('the sweep removes a dead process\'s leftovers in tmp/0 … f, then the directories once idle, leaving no directory in tmp/', async () => {
  const dataDir = path.join(root, 'data');
  // What that build leaves behind: its 16 subdirectories, one holding a dead process's file, untouched for two hours.
  for (const d of '0123456789abcdef') fs.mkdirSync(path.join(dataDir, 'tmp', d), { recursive: true, mode: 0o700 });
  const leftover = path.join(dataDir, 'tmp', '3', '999999-deadbeefdeadbeef.part');
  fs.writeFileSync(leftover, 'x'.repeat(1024));
  const idle = new Date(Date.now() - 2 * 3600_000);
  for (const d of '0123456789abcdef') fs.utimesSync(path.join(dataDir, 'tmp', d), idle, idle);
  const t = new TempFiles(dataDir);
  await t.cleanTemp();
  expect(fs.existsSync(leftover)).toBe(false);
  expect(fs.readdirSync(path.join(dataDir, 'tmp'))).toEqual([]);
  // 2e5ccc3's sweep: fs.rm without recursive on every entry of tmp/ (throws on a directory).
  const oldSweep = async () => {
    for (const name of await fs.promises.readdir(path.join(dataDir, 'tmp')).catch(() => [] as string[])) await fs.promises.rm(path.join(dataDir, 'tmp', name), { force: true });
  };
  await expect(oldSweep()).resolves.toBeUndefined();
});

it('a running process of that layout keeps its tmp/N directories: one written to within the hour is not removed', async () => {
  const dataDir = path.join(root, 'live');
  // It made tmp/0 … f at its start and opens each temp file there without making the directory again.
  for (const d of '0123456789abcdef') fs.mkdirSync(path.join(dataDir, 'tmp', d), { recursive: true, mode: 0o700 });
  const liveFile = path.join(dataDir, 'tmp', '3', `${process.pid}-0000000000000001.00000000.part`);
  fs.writeFileSync(liveFile, 'x');
  await new TempFiles(dataDir).cleanTemp();
  expect(fs.existsSync(liveFile)).toBe(true);
  const create = (n: string) => fs.closeSync(fs.openSync(path.join(dataDir, 'tmp', n, `${process.pid}-00000000000000${n}0.00000000.part`), 'wx', 0o600));
  expect(() => create('3')).not.toThrow();
  expect(() => create('4')).not.toThrow();
});
