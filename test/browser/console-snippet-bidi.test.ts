import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './chromium.js';
import { consoleEnv, signIn, type ConsoleEnv } from './console-env.js';

/**
 * The console escapes bidi/invisible characters in keys and in read_item text (shared.js `shown`), and in
 * a search result's snippet too: a U+202E in a document does not reorder the rest of the snippet as the
 * reader sees it, and zero-width characters do not hide in it.
 */
describe.skipIf(!CHROMIUM)('console search snippet escapes bidi and invisible characters', () => {
  let c: ConsoleEnv;
  beforeAll(async () => {
    c = await consoleEnv({ 'docs/pay.txt': 'Please pay the harbour invoice to account \u202E1234-5678\u202C today, zero\u200Bwidth.' }, 'bills');
  }, 120_000);
  afterAll(async () => c?.stop());

  it('shows the snippet with \\u202e escaped, as the key and read_item text are', async () => {
    const page = await signIn(c, '#indexes');
    await page.getByRole('button', { name: 'bills' }).click();
    await page.locator('#search').fill('harbour');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('mark').count()).toBe(1);
    const snippet = (await page.locator('#index-detail tbody td').nth(1).textContent())!;
    // The same document read through the console (read_item) is escaped:
    await page.getByRole('button', { name: 'docs/pay.txt' }).click();
    await expect.poll(() => page.locator('#item-body').textContent()).toContain('\\u202e1234');
    expect(snippet).toContain('harbour');
    expect(snippet).not.toMatch(/[\u202E\u202C\u200B]/);
    expect(snippet).toContain('\\u202e1234-5678\\u202c');
  }, 60_000);
});
