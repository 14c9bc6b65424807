import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpServer } from '../helpers/http.js';
import { CHROMIUM, launch } from './chromium.js';

/**
 * When a console page fails to load (here: the server runs with --toolsets connectors,imports, so
 * list_indexes answers "not available"), the new page is current with its error, and the previous
 * page's content does not stay underneath it.
 */
describe.skipIf(!CHROMIUM)('console: a page that fails does not keep showing the previous page', () => {
  let srv: HttpServer;
  let browser: Browser;
  let key: string;
  beforeAll(async () => {
    const dir = tempDir();
    key = await createKey(dir, 'acme');
    srv = await startHttpServer(dir, ['--toolsets', 'connectors,imports']);
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await srv?.stop();
  });

  it('Indexes (unavailable) after Jobs shows no Jobs content under the Indexes tab', async () => {
    const c = await connectHttp(srv.url, key);
    expect((await c.call('list_indexes', {})).text).toMatch(/not available/);
    await c.close();
    const page = await browser.newPage();
    await page.goto(`${srv.url.replace(/\/mcp$/, '')}/ui#jobs`);
    await page.locator('#key').fill(key);
    await page.locator('#signin-form button').click();
    await expect.poll(() => page.locator('#page h2').textContent()).toBe('Jobs');
    await page.getByRole('button', { name: 'Indexes' }).click();
    await expect.poll(() => page.locator('#error').textContent()).toMatch(/list_indexes is not available/);
    expect(await page.locator('nav [aria-current=page]').textContent()).toBe('Indexes');
    expect(await page.locator('#page').innerText()).not.toContain('Jobs');
    await page.close();
  }, 60_000);
});
