import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './chromium.js';
import { consoleEnv, signIn, type ConsoleEnv } from './console-env.js';

/**
 * The web console shows an error message as it shows everything else from the server: control, bidi and
 * invisible characters escaped as tool text escapes them. An item whose key holds U+202E and that is
 * deleted while the index page is open answers not_found when clicked; the error line shows the key as
 * "docs/invoice\u202efdp.exe" (the tool's own text does), never with a live override that makes it read
 * "docs/invoiceexe.pdf".
 */
const KEY = 'docs/invoice\u202Efdp.exe';

describe.skipIf(!CHROMIUM)('console: error messages are escaped like the rest of the page', () => {
  let c: ConsoleEnv;
  beforeAll(async () => {
    c = await consoleEnv({ [KEY]: 'not an invoice' }, 'bills');
  }, 120_000);
  afterAll(async () => c?.stop());

  it('a not_found naming a hostile key shows it escaped', async () => {
    const page = await signIn(c, '#indexes');
    await page.getByRole('button', { name: 'bills' }).click();
    await expect.poll(() => page.locator('td.key button').count()).toBe(1);
    await c.a.ok('delete_item', { index: 'bills', key: KEY });
    // The tool's text escapes the override.
    expect((await c.a.call('read_item', { index: 'bills', key: KEY })).text).toContain('docs/invoice\\u202efdp.exe');
    await page.locator('td.key button').click();
    await expect.poll(() => page.locator('#error').textContent()).toMatch(/not found/);
    const shown = (await page.locator('#error').textContent())!;
    expect(shown).not.toContain('\u202E');
    expect(shown).toContain('docs/invoice\\u202efdp.exe');
    await page.close();
  }, 60_000);
});
