import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './chromium.js';
import { consoleEnv, signIn, type ConsoleEnv } from './console-env.js';

/**
 * README: the console's Indexes page shows an index's items and reads their text. An index of 130 items
 * shows the first 100 and a "Show more" button that pages on with the cursor, so every item can be
 * seen and opened.
 */
describe.skipIf(!CHROMIUM)('console pages an index to its last item', () => {
  let c: ConsoleEnv;
  beforeAll(async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 130; i++) files[`many/f-${String(i).padStart(3, '0')}.txt`] = `note ${i}`;
    c = await consoleEnv(files, 'many');
  }, 120_000);
  afterAll(async () => c?.stop());

  it('reaches many/f-129.txt from the index page', async () => {
    expect((await c.a.ok('list_indexes', {})).indexes[0].items).toBe(130);
    const page = await signIn(c, '#indexes');
    await page.getByRole('button', { name: 'many' }).click();
    await expect.poll(() => page.locator('#index-detail td.key').count()).toBeGreaterThan(0);
    for (let i = 0; i < 5 && (await page.getByRole('button', { name: 'many/f-129.txt' }).count()) === 0; i++) {
      const next = page.locator('#index-detail').getByRole('button', { name: /more|next|load/i });
      if ((await next.count()) === 0) break;
      await next.first().click();
      await page.waitForTimeout(500);
    }
    const note = await page.locator('#index-detail').innerText();
    expect(await page.getByRole('button', { name: 'many/f-129.txt' }).count(), note.slice(-200)).toBe(1);
  }, 60_000);
});
