import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Every temp dir a test makes (data dirs, downloads, blob stores: several GB per run) lives under one
 * root per run, removed when the run ends, so runs on a shared machine leave nothing behind.
 * TMPDIR is inherited by the test workers (os.tmpdir() follows it).
 */
export default function setup(): () => void {
  // Each vitest project runs its global setup: the second one keeps the first one's root (a root
  // nested in a root made Chromium's socket path too long).
  if (process.env.CLOUDPORT_TEST_RUN_ROOT) return () => {};
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-run-'));
  process.env.TMPDIR = root;
  process.env.CLOUDPORT_TEST_RUN_ROOT = root;
  return () => {
    delete process.env.CLOUDPORT_TEST_RUN_ROOT;
    fs.rmSync(root, { recursive: true, force: true });
  };
}
