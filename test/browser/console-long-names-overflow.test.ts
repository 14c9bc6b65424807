import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './chromium.js';
import { consoleEnv, signIn, type ConsoleEnv } from './console-env.js';

/**
 * Names are up to 100 characters with no space (a connector's, an automation's, an index's). In a
 * 1100-pixel window every console page keeps them within the window (they wrap, as keys do): the
 * Connectors, Jobs and Automations tables never make the page scroll sideways and push the action
 * buttons (Test, Import…, Pause) out of sight. The error line wraps too: a not_found quoting a
 * 500-character key stays within the window.
 */
const INDEX = `i${'X'.repeat(99)}`;
const LONG = `docs/${'K'.repeat(500)}.txt`;

describe.skipIf(!CHROMIUM)('console: 100-character names do not widen the page', () => {
  let c: ConsoleEnv;
  beforeAll(async () => {
    c = await consoleEnv({ 'seed.txt': 'seed', [LONG]: 'long' }, INDEX);
    await c.a.ok('update_connector', { connector_id: c.conn, name: 'W'.repeat(100) });
    await c.a.ok('create_automation', { kind: 'import', connector_id: c.conn, index: INDEX, schedule: '1h', name: 'A'.repeat(100) });
  }, 120_000);
  afterAll(async () => c?.stop());

  it('connectors, jobs and automations stay within an 1100-pixel window', async () => {
    const page = await signIn(c, '#connectors');
    const widths: Record<string, number> = {};
    for (const [hash, heading] of [['connectors', 'Connectors'], ['jobs', 'Jobs'], ['automations', 'Automations']]) {
      await page.evaluate((h) => (location.hash = h), hash);
      await expect.poll(() => page.locator('#page h2').textContent()).toBe(heading);
      await expect.poll(() => page.locator('#page tbody tr').count()).toBeGreaterThan(0);
      widths[hash] = await page.evaluate(() => document.documentElement.scrollWidth);
    }
    expect(Object.entries(widths).filter(([, w]) => w > 1100)).toEqual([]);
    await page.close();
  }, 60_000);

  it('the error line with a 500-character key stays within the window', async () => {
    const page = await signIn(c, '#indexes');
    await page.getByRole('button', { name: INDEX }).click();
    await expect.poll(() => page.locator('td.key button').count()).toBe(2);
    await c.a.ok('delete_item', { index: INDEX, key: LONG });
    await page.getByRole('button', { name: LONG }).click();
    await expect.poll(() => page.locator('#error').textContent()).toMatch(/not found/);
    // The error line itself wraps within its own width.
    const [scroll, width] = await page.locator('#error').evaluate((e) => [e.scrollWidth, e.clientWidth]);
    expect(scroll).toBeLessThanOrEqual(width);
    await page.close();
  }, 60_000);
});
