import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { createKey, startHttpServer, type HttpServer } from '../helpers/http.js';
import { CHROMIUM, launch } from './chromium.js';

/**
 * The console's header says what the signed-in key may do. On a server run with --toolsets
 * connectors,indexes (no imports toolset, so no start_import), a read-write key is still a read-write
 * key: the header does not call it "read-only key" (it may say which tools the server leaves out).
 */
describe.skipIf(!CHROMIUM)('console header: a read-write key on a server without the imports toolset', () => {
  let srv: HttpServer;
  let browser: Browser;
  let key: string;
  beforeAll(async () => {
    const dir = tempDir();
    key = await createKey(dir, 'acme');
    srv = await startHttpServer(dir, ['--toolsets', 'connectors,indexes']);
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await srv?.stop();
  });

  it('is not called a read-only key', async () => {
    const page = await browser.newPage();
    await page.goto(`${srv.url.replace(/\/mcp$/, '')}/ui`);
    await page.locator('#key').fill(key);
    await page.locator('#signin-form button').click();
    await page.locator('#app').waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('#who').textContent()).not.toBe('');
    expect(await page.locator('#who').textContent()).not.toMatch(/read-only key/);
    await page.close();
  }, 60_000);
});
