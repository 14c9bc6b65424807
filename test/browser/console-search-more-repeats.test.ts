import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './chromium.js';
import { consoleEnv, signIn, type ConsoleEnv } from './console-env.js';

/**
 * The console's search table grows with "Show more results". When an import lands new matching items
 * between two pages (a live index), the table never shows an item twice: each row of the search table
 * is a distinct item (the console drops a key it already shows, or starts the search over and says so).
 */
describe.skipIf(!CHROMIUM)('console: "Show more results" never repeats an item', () => {
  let c: ConsoleEnv;
  beforeAll(async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`d/f${String(i).padStart(2, '0')}.txt`] = `alpha word ${i}`;
    c = await consoleEnv(files, 'notes');
  }, 120_000);
  afterAll(async () => c?.stop());

  it('an import between two pages does not make rows repeat', async () => {
    const page = await signIn(c, '#indexes');
    await page.getByRole('button', { name: 'notes' }).click();
    await page.locator('#search').fill('alpha');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('#index-detail td.key').count()).toBe(20);
    // Ten more items that rank first land in the index while the first page is on screen.
    for (let i = 0; i < 10; i++) await c.env.s3.put('team', `a/top${i}.txt`, 'alpha alpha alpha', { contentType: 'text/plain' });
    const { job_id } = await c.a.ok('start_import', { connector_id: c.conn, index: 'notes', prefix: 'a/' });
    expect((await c.a.ok('import_status', { job_id, wait_seconds: 30 })).status).toBe('completed');
    await page.getByRole('button', { name: 'Show more results' }).click();
    await expect.poll(() => page.locator('#index-detail td.key').count()).toBeGreaterThan(20);
    const keys = await page.locator('#index-detail td.key').allTextContents();
    const repeated = keys.filter((k, i) => keys.indexOf(k) !== i);
    expect(repeated).toEqual([]);
    await page.close();
  }, 60_000);
});
