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

it('the sweep removes a dead process\'s leftovers in tmp/0 … f and leaves no directory in tmp/', async () => {
  const dataDir = path.join(root, 'data');
  // What 6e0beff leaves behind: its 16 subdirectories, one holding a dead process's file.
  for (const d of '0123456789abcdef') fs.mkdirSync(path.join(dataDir, 'tmp', d), { recursive: true, mode: 0o700 });
  const leftover = path.join(dataDir, 'tmp', '3', '999999-deadbeefdeadbeef.part');
  fs.writeFileSync(leftover, 'x'.repeat(1024));
  const t = new TempFiles(dataDir);
  await t.cleanTemp();
  expect(fs.existsSync(leftover)).toBe(false);
  // 2e5ccc3's sweep: fs.rm without recursive on every entry of tmp/ (throws on a directory).
  const oldSweep = async () => {
    for (const name of await fs.promises.readdir(path.join(dataDir, 'tmp')).catch(() => [] as string[])) await fs.promises.rm(path.join(dataDir, 'tmp', name), { force: true });
  };
  await expect(oldSweep()).resolves.toBeUndefined();
});
