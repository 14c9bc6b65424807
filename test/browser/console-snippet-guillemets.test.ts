import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './chromium.js';
import { consoleEnv, signIn, type ConsoleEnv } from './console-env.js';

/**
 * search_index marks matched words «like this» and writes a document's own « » as \u00ab and \u00bb;
 * the console splits the snippet on the marks and shows the document's guillemets again as « ». French
 * text (guillemets are its quotation marks) highlights only the matched word.
 */
describe.skipIf(!CHROMIUM)('console search highlights only the matched words', () => {
  let c: ConsoleEnv;
  beforeAll(async () => {
    c = await consoleEnv({
      'fr/rapport.txt': 'Le rapport « annuel » du port mentionne harbour deux fois.',
      'fr/citation.txt': 'Il écrit « le port de harbour est fermé.',
    }, 'fr');
  }, 120_000);
  afterAll(async () => c?.stop());

  it('marks "harbour" and nothing else in either snippet', async () => {
    const page = await signIn(c, '#indexes');
    await page.getByRole('button', { name: 'fr' }).click();
    await page.locator('#search').fill('harbour');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('#index-detail th').first().textContent()).toBe('Item');
    await expect.poll(() => page.locator('#index-detail th').nth(1).textContent()).toBe('Match');
    const marks = (await page.locator('mark').allTextContents()).map((m) => m.trim());
    expect(marks).toEqual(['harbour', 'harbour']);
    // and the quotation marks of the text stay visible
    expect(await page.locator('#index-detail tbody').innerText()).toContain('« annuel »');
  }, 60_000);
});
