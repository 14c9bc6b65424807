import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './chromium.js';
import { consoleEnv, signIn, type ConsoleEnv } from './console-env.js';

/**
 * The console's error line speaks of the last action. When an item deleted while the index page is open
 * is clicked, its not_found shows; clicking another item then shows that item's text and clears the
 * error line, so the reader does not take the item on screen for the one that failed.
 */
describe.skipIf(!CHROMIUM)('console: an error line is cleared by the next action that succeeds', () => {
  let c: ConsoleEnv;
  beforeAll(async () => {
    c = await consoleEnv({ 'docs/a.txt': 'first note', 'docs/b.txt': 'second note' }, 'notes');
  }, 120_000);
  afterAll(async () => c?.stop());

  it('reading b after a failed read of a deleted a leaves no error', async () => {
    const page = await signIn(c, '#indexes');
    await page.getByRole('button', { name: 'notes' }).click();
    await expect.poll(() => page.locator('td.key button').count()).toBe(2);
    await c.a.ok('delete_item', { index: 'notes', key: 'docs/a.txt' });
    await page.getByRole('button', { name: 'docs/a.txt' }).click();
    await expect.poll(() => page.locator('#error').textContent()).toMatch(/not found/);
    await page.getByRole('button', { name: 'docs/b.txt' }).click();
    await expect.poll(() => page.locator('#item-body').textContent()).toBe('second note');
    expect(await page.locator('#error').textContent()).toBe('');
    await page.close();
  }, 60_000);
});
