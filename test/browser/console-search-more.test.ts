import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './chromium.js';
import { consoleEnv, signIn, type ConsoleEnv } from './console-env.js';

/**
 * The console's search shows 20 results at a time, says about how many match, and pages on with a
 * "Show more" button, as search_index itself does ("results 1-20 of about 30 …; more with next_cursor").
 */
describe.skipIf(!CHROMIUM)('console search says (or shows) that more results exist', () => {
  let c: ConsoleEnv;
  beforeAll(async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`notes/n-${String(i).padStart(2, '0')}.txt`] = `note ${i} about the harbour`;
    c = await consoleEnv(files, 'notes');
  }, 120_000);
  afterAll(async () => c?.stop());

  it('30 matches: the tool says more exist, so does the console', async () => {
    const tool = await c.a.call('search_index', { index: 'notes', query: 'harbour', limit: 20 });
    expect(tool.data.next_cursor).toBeTruthy();
    const page = await signIn(c, '#indexes');
    await page.getByRole('button', { name: 'notes' }).click();
    await page.locator('#search').fill('harbour');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('mark').count()).toBe(20);
    // Either all 30 are reachable (a "more" control) or the page says that more exist.
    const text = await page.locator('#index-detail').innerText();
    const more = await page.getByRole('button', { name: /more|next/i }).count();
    expect(more > 0 || /more|of about 30|30 match/i.test(text), `console shows:\n${text.slice(-300)}`).toBe(true);
  }, 60_000);
});
