import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { createKey, startHttpServer, type HttpServer } from '../helpers/http.js';
import { CHROMIUM, launch } from './chromium.js';

/**
 * The console against a server run with --toolsets connectors,imports: its navigation offers only the
 * pages whose list tool the server offers (Connectors, Jobs), and a link to another page opens the first
 * offered one. When a page then fails to load (the server has stopped), that page is current with its
 * error, and the previous page's content does not stay underneath it.
 */
describe.skipIf(!CHROMIUM)('console: pages follow --toolsets; a page that fails does not keep showing the previous page', () => {
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

  it('offers Connectors and Jobs only; #indexes opens Connectors; a failed Connectors page shows no Jobs content', async () => {
    const page = await browser.newPage();
    await page.goto(`${srv.url.replace(/\/mcp$/, '')}/ui#indexes`);
    await page.locator('#key').fill(key);
    await page.locator('#signin-form button').click();
    await expect.poll(() => page.locator('#page h2').textContent()).toBe('Connectors');
    expect(await page.locator('nav button:visible').allTextContents()).toEqual(['Connectors', 'Jobs']);
    await page.getByRole('button', { name: 'Jobs' }).click();
    await expect.poll(() => page.locator('#page h2').textContent()).toBe('Jobs');
    await srv.stop();
    await page.getByRole('button', { name: 'Connectors' }).click();
    await expect.poll(() => page.locator('#error').textContent()).not.toBe('');
    expect(await page.locator('nav [aria-current=page]').textContent()).toBe('Connectors');
    expect(await page.locator('#page').innerText()).not.toContain('Jobs');
    await page.close();
  }, 60_000);
});
