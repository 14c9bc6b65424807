import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium): playwright-core downloads no browser. */
export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
// CI installs it (.ci/run): there, a missing browser is a failure, not a skipped test.
if (!CHROMIUM && process.env.CI === 'true') throw new Error('Chromium is not installed (apt-get install -y chromium); .ci/run installs it');

export async function launch(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('Chromium is not installed: apt-get install -y chromium');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** The test host (view-host.ts with app-bridge and its dependencies) as one browser script. */
export async function hostScript(): Promise<string> {
  const r = await build({ entryPoints: [path.join(import.meta.dirname, 'view-host.ts')], bundle: true, format: 'iife', platform: 'browser', write: false, logLevel: 'silent' });
  return r.outputFiles[0]!.text;
}

/** Screenshots for the README go to docs/screenshots/ when SCREENSHOTS=1. */
export const SCREENSHOTS = process.env.SCREENSHOTS === '1' ? path.resolve(import.meta.dirname, '../../docs/screenshots') : null;
