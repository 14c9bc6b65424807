import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, hostScript } from './chromium.js';
import { consoleEnv, type ConsoleEnv } from './console-env.js';

/**
 * The browse view's "Next page" shows its error when the host cannot reach the server; a retry that
 * then succeeds shows the next page without the earlier error under it (the message line is cleared
 * once a page is shown), so the reader does not think the page on screen failed.
 */
describe.skipIf(!CHROMIUM)('browse view: an error is cleared once the next page arrives', () => {
  let c: ConsoleEnv;
  beforeAll(async () => {
    c = await consoleEnv({ 'seed.txt': 'seed' }, 'seed');
    for (let i = 0; i < 5; i++) await c.env.s3.put('team', `b/f${i}.txt`, 'x', { contentType: 'text/plain' });
  }, 120_000);
  afterAll(async () => c?.stop());

  it('a failed then successful Next page leaves no error', async () => {
    const host = await hostScript();
    const html = ((await c.a.client.readResource({ uri: 'ui://cloudport/browse.html' })).contents[0] as { text: string }).text;
    const args = { connector_id: c.conn, prefix: 'b/', limit: 2 };
    const first = await c.a.client.callTool({ name: 'browse_connector', arguments: args });
    const page = await c.browser.newPage({ viewport: { width: 680, height: 600 } });
    let fail = true;
    await page.exposeFunction('cloudportCall', async (name: string, x: Record<string, unknown>) => {
      if (fail) {
        fail = false;
        throw new Error('the host lost the server');
      }
      return c.a.client.callTool({ name, arguments: x });
    });
    await page.setContent(`<!doctype html><html><body style="margin:8px"><script>${host}</script></body></html>`);
    await page.evaluate(([h, i, r]) => window.mountView(h as string, i as Record<string, unknown>, r), [html, args, first] as const);
    const f = page.frameLocator('iframe');
    await expect.poll(() => f.locator('td.key').allTextContents()).toEqual(['b/f0.txt', 'b/f1.txt']);
    await f.locator('#next').click();
    await expect.poll(() => f.locator('#msg').textContent()).toMatch(/lost the server/);
    await f.locator('#next').click();
    await expect.poll(() => f.locator('td.key').allTextContents()).toEqual(['b/f2.txt', 'b/f3.txt']);
    expect(await f.locator('#msg').textContent()).toBe('');
    await page.close();
  }, 60_000);
});
