import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, hostScript } from './chromium.js';
import { consoleEnv, type ConsoleEnv } from './console-env.js';

/**
 * The job view (ui://cloudport/job.html) lists a job's failed files with their errors. For a job with
 * 60 failed files it either shows all 60 or says how many of the 60 its table holds ("20 of 60 failed
 * files shown"): the reader never takes a partial list for the whole one.
 */
describe.skipIf(!CHROMIUM)('job view: the failed files of a job are not cut silently', () => {
  let c: ConsoleEnv;
  let job: string;
  beforeAll(async () => {
    c = await consoleEnv({ 'seed.txt': 'seed' }, 'seed');
    for (let i = 0; i < 60; i++) await c.env.s3.put('team', `bad/f${String(i).padStart(2, '0')}.txt`, `x${i}`, { contentType: 'text/plain' });
    c.env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'bad/' }, times: Infinity, action: { type: 'status', status: 404, code: 'NoSuchKey', message: 'gone' } });
    job = (await c.a.ok('start_import', { connector_id: c.conn, index: 'gone', prefix: 'bad/' })).job_id;
    expect((await c.a.ok('import_status', { job_id: job, wait_seconds: 30 })).counts.failed).toBe(60);
  }, 180_000);
  afterAll(async () => c?.stop());

  it('60 failed files: all listed, or the view says how many it lists', async () => {
    const host = await hostScript();
    const page = await c.browser.newPage({ viewport: { width: 680, height: 600 } });
    await page.exposeFunction('cloudportCall', (name: string, x: Record<string, unknown>) => c.a.client.callTool({ name, arguments: x }));
    await page.setContent(`<!doctype html><html><body style="margin:8px"><script>${host}</script></body></html>`);
    const html = ((await c.a.client.readResource({ uri: 'ui://cloudport/job.html' })).contents[0] as { text: string }).text;
    const result = await c.a.client.callTool({ name: 'import_status', arguments: { job_id: job } });
    await page.evaluate(([h, i, r]) => window.mountView(h as string, i as Record<string, unknown>, r), [html, { job_id: job }, result] as const);
    const f = page.frameLocator('iframe');
    await expect.poll(() => f.locator('#failed-rows tr').count()).toBeGreaterThan(0);
    await page.waitForTimeout(500);
    const n = await f.locator('#failed-rows tr').count();
    const outsideTable = await f.locator('#failed').evaluate((e) => [...e.querySelectorAll(':scope > :not(table)')].map((x) => (x as HTMLElement).innerText).join('\n'));
    expect(n === 60 || new RegExp(`\\b${n}\\b`).test(outsideTable), `${n} rows; the view says: ${outsideTable}`).toBe(true);
    await page.close();
  }, 60_000);
});
