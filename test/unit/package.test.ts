import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { build, type Message } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';

/**
 * What `npm publish` would ship, as npm itself computes it. --ignore-scripts: packing must not run
 * `prepare`, which rebuilds dist/ while other test files run the built server from it; `npm test`
 * has built dist/ already.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };

function npm(args: string[], cwd = ROOT): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });
}

describe('npm package', () => {
  let files: string[];

  beforeAll(() => {
    expect(fs.existsSync(path.join(ROOT, 'dist', 'cli.js')), 'dist/cli.js is missing: run `npm run build`').toBe(true);
    const [packed] = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'])) as { files: { path: string }[] }[];
    files = packed!.files.map((f) => f.path).sort();
  });

  it('ships the built server, README, LICENSE and the shrinkwrap', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'npm-shrinkwrap.json', 'dist/cli.js', 'dist/server.js', 'dist/core/jobs/import/hash-worker.mjs', 'dist/core/search/extract/worker.mjs', 'dist/core/search/extract/sniff.mjs']) expect(files, f).toContain(f);
    expect(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} cloudport contributors\n/);
  });

  it('the shrinkwrap it ships is the lock file the tests ran with', () => {
    // npm 11 and older read npm-shrinkwrap.json (also inside the published package); npm 12 reads only
    // package-lock.json. Both are kept, byte for byte the same.
    const lock = fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8');
    const wrap = fs.readFileSync(path.join(ROOT, 'npm-shrinkwrap.json'), 'utf8');
    expect(wrap === lock, 'npm-shrinkwrap.json differs from package-lock.json: copy the one npm just updated over the other').toBe(true);
  });

  it('ships no sources, tests, benchmarks, docs, scripts, schemas snapshots or lock file', () => {
    const outside = files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE', 'npm-shrinkwrap.json'].includes(f));
    expect(outside).toEqual([]);
    expect(files.filter((f) => /^(src|test|bench|docs|scripts|tool-schemas)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('ships no source maps, and no built file points at one', () => {
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    const js = files.filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(10);
    expect(js.filter((f) => fs.readFileSync(path.join(ROOT, f), 'utf8').includes('sourceMappingURL'))).toEqual([]);
  });

  it('every relative import of a shipped file is shipped too', async () => {
    // esbuild resolves each shipped file's imports (static ones and dynamic ones with a literal path) as
    // Node would, in a copy holding the shipped files only; text that merely looks like an import (in a
    // bundled library's comments) is not one.
    const copy = tempDir();
    const code = files.filter((f) => /\.m?js$/.test(f));
    for (const f of code) {
      fs.mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, f), path.join(copy, f));
    }
    const result = await build({ entryPoints: code.map((f) => path.join(copy, f)), outdir: path.join(copy, 'out'), bundle: true, write: false, packages: 'external', platform: 'node', format: 'esm', logLevel: 'silent' })
      .then(() => ({ errors: [] as Message[] }), (e: { errors?: Message[] }) => ({ errors: e.errors ?? [] }));
    expect(result.errors.map((e) => `${e.location ? path.relative(copy, e.location.file) : '?'}: ${e.text}`)).toEqual([]);
  });

  it('the bin entry is a shipped node script that runs from the packed files alone', () => {
    const bin = PKG.bin.cloudport!;
    expect(path.posix.normalize(bin)).toBe('dist/cli.js');
    expect(files).toContain(path.posix.normalize(bin));
    expect(fs.readFileSync(path.join(ROOT, bin), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    // Unpack the real tarball and run its bin; dependencies come from this checkout's node_modules.
    const dir = tempDir();
    const [packed] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir])) as { filename: string }[];
    execFileSync('tar', ['-xzf', path.join(dir, packed!.filename), '-C', dir]);
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'package', 'node_modules'), 'dir');
    const out = execFileSync(process.execPath, [path.join(dir, 'package', bin), '--version'], { encoding: 'utf8' });
    expect(out.trim()).toBe(PKG.version);
  });
});
