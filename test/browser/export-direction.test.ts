import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, hostScript } from './chromium.js';
import { consoleEnv, signIn, type ConsoleEnv } from './console-env.js';

/**
 * An export job writes an index's items to a connector: the index is its source. The job view's title
 * and the console's job panel say so ("Export from notes", or "notes → <connector>"), never "Export
 * into notes" or "Export <job> → notes", which read as if the index were written to.
 */
describe.skipIf(!CHROMIUM)('export jobs are shown going out of their index', () => {
  let c: ConsoleEnv;
  let started: Record<string, unknown>;
  let job: string;
  beforeAll(async () => {
    c = await consoleEnv({ 'seed.txt': 'seed' }, 'notes');
    const dst = (await c.a.ok('create_connector', { ...c.env.connector('team'), scopes: ['export'], export_base_path: 'out' })).connector.id;
    started = await c.a.client.callTool({ name: 'start_export', arguments: { index: 'notes', connector_id: dst } });
    job = (started.structuredContent as { job_id: string }).job_id;
    expect((await c.a.ok('import_status', { job_id: job, wait_seconds: 30 })).status).toBe('completed');
  }, 120_000);
  afterAll(async () => c?.stop());

  it('job view: the title does not say the export goes into the index', async () => {
    const host = await hostScript();
    const page = await c.browser.newPage({ viewport: { width: 680, height: 600 } });
    await page.exposeFunction('cloudportCall', (name: string, x: Record<string, unknown>) => c.a.client.callTool({ name, arguments: x }));
    await page.setContent(`<!doctype html><html><body style="margin:8px"><script>${host}</script></body></html>`);
    const html = ((await c.a.client.readResource({ uri: 'ui://cloudport/job.html' })).contents[0] as { text: string }).text;
    await page.evaluate(([h, i, r]) => window.mountView(h as string, i as Record<string, unknown>, r), [html, { index: 'notes' }, started] as const);
    const f = page.frameLocator('iframe');
    await expect.poll(() => f.locator('#status').textContent()).toBe('completed');
    const title = (await f.locator('#title').textContent())!;
    expect(title).toContain('notes');
    expect(title).not.toMatch(/into notes/);
    await page.close();
  }, 60_000);

  it('console: the job panel does not point the export at the index', async () => {
    const page = await signIn(c, `#job=${job}`);
    await page.locator('#job-panel').waitFor();
    const heading = (await page.locator('#job-panel strong').first().textContent())!;
    expect(heading).toContain('notes');
    expect(heading).not.toMatch(/→ notes$/);
    await page.close();
  }, 60_000);
});
