import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, hostScript } from './chromium.js';
import { consoleEnv, signIn, type ConsoleEnv } from './console-env.js';

/**
 * A long unbroken word (a long object key, a long token in a document) wraps in the console's search
 * "Match" cell and the job view's error cell: the page does not scroll sideways, and the key column
 * beside it keeps its width.
 */
const KEY = `docs/${'K'.repeat(500)}.txt`;

describe.skipIf(!CHROMIUM)('long unbroken words wrap instead of widening the page', () => {
  let c: ConsoleEnv;
  let job: string;
  beforeAll(async () => {
    c = await consoleEnv({ [KEY]: `harbour ${'Z'.repeat(280)} end` }, 'lay');
    c.env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'KKKK' }, times: 100, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'denied' } });
    job = (await c.a.ok('start_import', { connector_id: c.conn, index: 'denied' })).job_id;
    expect((await c.a.ok('import_status', { job_id: job, wait_seconds: 30 })).counts.failed).toBe(1);
  }, 120_000);
  afterAll(async () => c?.stop());

  it('console: a search result with a 280-character word stays within the window', async () => {
    const page = await signIn(c, '#indexes');
    await page.getByRole('button', { name: 'lay', exact: true }).click();
    await page.locator('#search').fill('harbour');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('mark').count()).toBe(1);
    const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(scroll).toBeLessThanOrEqual(width);
  }, 60_000);

  it('job view: a failed file whose error quotes a 500-character key stays within the view', async () => {
    const host = await hostScript();
    const page = await c.browser.newPage({ viewport: { width: 680, height: 600 } });
    await page.exposeFunction('cloudportCall', (name: string, x: Record<string, unknown>) => c.a.client.callTool({ name, arguments: x }));
    await page.setContent(`<!doctype html><html><body style="margin:8px"><script>${host}</script></body></html>`);
    const html = ((await c.a.client.readResource({ uri: 'ui://cloudport/job.html' })).contents[0] as { text: string }).text;
    const result = await c.a.client.callTool({ name: 'import_status', arguments: { job_id: job } });
    await page.evaluate(([h, i, r]) => window.mountView(h as string, i as Record<string, unknown>, r), [html, { job_id: job }, result] as const);
    const f = page.frameLocator('iframe');
    await expect.poll(() => f.locator('#failed-rows tr').count()).toBe(1);
    const [scroll, width] = await f.locator('body').evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(scroll).toBeLessThanOrEqual(width);
  }, 60_000);
});
