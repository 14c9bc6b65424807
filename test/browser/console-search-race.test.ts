import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './chromium.js';
import { consoleEnv, signIn, type ConsoleEnv } from './console-env.js';

/**
 * The console shows the answer to the last thing asked. When a search is slow (a large index) and the
 * reader searches again before it answers, the page ends on the second search's results, not on the
 * first one's arriving late and replacing them (the same rule the page navigation follows: a page that
 * comes back after the next one was asked for is dropped).
 */
describe.skipIf(!CHROMIUM)('console: a late answer to an earlier search does not replace the last one', () => {
  let c: ConsoleEnv;
  beforeAll(async () => {
    c = await consoleEnv({ 'docs/a.txt': 'apple pie', 'docs/b.txt': 'banana bread' }, 'notes');
  }, 120_000);
  afterAll(async () => c?.stop());

  it('search "apple" (slow), then "banana": banana\'s result stays', async () => {
    const page = await signIn(c, '#indexes');
    await page.getByRole('button', { name: 'notes' }).click();
    await expect.poll(() => page.locator('td.key button').count()).toBe(2);
    // The first search's answer takes 2 s to come back (a slow search on a large index).
    await page.route('**/mcp', async (route) => {
      if ((route.request().postData() ?? '').includes('"query":"apple"')) await new Promise((r) => setTimeout(r, 2000));
      await route.continue();
    });
    await page.locator('#search').fill('apple');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForTimeout(200);
    await page.locator('#search').fill('banana');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('#index-detail td.key').allTextContents()).toEqual(['docs/b.txt']);
    await page.waitForTimeout(3000);
    expect(await page.locator('#index-detail td.key').allTextContents()).toEqual(['docs/b.txt']);
    expect(await page.locator('#search').inputValue()).toBe('banana');
    await page.close();
  }, 60_000);
});
