import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { createKey, startHttpServer, type HttpServer } from '../helpers/http.js';
import { CHROMIUM, launch } from './chromium.js';

/**
 * A key pasted with an invisible character (a zero-width space copied from a chat, a typographic quote)
 * cannot be sent in an Authorization header. The console's sign-in then says that the key is not valid
 * (what to fix: paste the key alone), as for any refused key, rather than showing the browser's
 * internal "Failed to execute 'fetch' on 'Window' … ISO-8859-1 code point".
 */
describe.skipIf(!CHROMIUM)('console sign-in: a key with an unsendable character', () => {
  let srv: HttpServer;
  let browser: Browser;
  let key: string;
  beforeAll(async () => {
    const dir = tempDir();
    key = await createKey(dir, 'acme');
    srv = await startHttpServer(dir);
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await srv?.stop();
  });

  it('says the key is not valid, in the console\'s words', async () => {
    const page = await browser.newPage();
    await page.goto(`${srv.url.replace(/\/mcp$/, '')}/ui`);
    await page.locator('#key').fill(`${key}\u200b`);
    await page.locator('#signin-form button').click();
    await expect.poll(() => page.locator('#signin-error').textContent()).not.toBe('');
    const text = (await page.locator('#signin-error').textContent())!;
    expect(text).not.toMatch(/Failed to execute|ISO-8859-1|RequestInit/);
    expect(text).toMatch(/key/i);
    await page.close();
  }, 60_000);
});
