import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
import { s3Fixture } from '../providers/s3.fixture.js';
import { CHROMIUM, SCREENSHOTS, hostScript, launch } from './chromium.js';

/**
 * The MCP App views rendered in headless Chromium inside a host of ours built on the extension's
 * app-bridge, fed by the live server: the job view follows a job to the end and cancels one.
 */
describe.skipIf(!CHROMIUM)('MCP App views in Chromium', () => {
  const fx = s3Fixture();
  let cp: Running;
  let browser: Browser;
  let host: string;
  let conn: string;
  let bucket: string;

  const view = async (uri: string) => {
    const r = await cp.client.readResource({ uri });
    const c = r.contents[0] as { text: string; mimeType: string };
    expect(c.mimeType).toBe('text/html;profile=mcp-app');
    return c.text;
  };
  /** A page with the host, a view mounted in it, showing the result of `tool`. */
  const mount = async (uri: string, tool: string, args: Record<string, unknown>): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 680, height: 600 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.exposeFunction('cloudportCall', (name: string, a: Record<string, unknown>) => cp.client.callTool({ name, arguments: a }));
    await page.setContent(`<!doctype html><html><body style="margin:8px"><script>${host}</script></body></html>`);
    const result = await cp.client.callTool({ name: tool, arguments: args });
    await page.evaluate(([html, input, res]) => window.mountView(html as string, input as Record<string, unknown>, res), [await view(uri), args, result] as const);
    expect(errors).toEqual([]);
    return page;
  };
  const frame = (page: Page) => page.frameLocator('iframe');

  beforeAll(async () => {
    await fx.start();
    bucket = await fx.createBucket();
    for (let i = 0; i < 12; i++) await fx.put(bucket, `docs/file-${String(i).padStart(2, '0')}.txt`, `content ${i} `.repeat(200));
    await fx.put(bucket, 'docs/locked.txt', 'no access');
    for (let i = 0; i < 4; i++) await fx.put(bucket, `slow/part-${i}.bin`, Buffer.alloc(200_000, i));
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_IDLE_TIMEOUT_MS: '60000' } });
    conn = (await cp.ok('create_connector', { name: uniqueName(), ...fx.connectorInput(bucket) })).connector.id;
    [browser, host] = await Promise.all([launch(), hostScript()]);
  });
  afterAll(async () => {
    await browser?.close();
    await cp?.close();
    await fx.stop();
  });

  it('tools link their views, and the views are served with a strict CSP', async () => {
    const { tools } = await cp.client.listTools();
    const linked = Object.fromEntries(tools.filter((t) => t._meta?.ui).map((t) => [t.name, (t._meta!.ui as { resourceUri: string }).resourceUri]));
    expect(linked).toEqual({ start_import: 'ui://cloudport/job.html', start_export: 'ui://cloudport/job.html', import_status: 'ui://cloudport/job.html', browse_connector: 'ui://cloudport/browse.html' });
    const html = await view('ui://cloudport/job.html');
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'/);
    // Nothing remote: no script, stylesheet or frame loaded from anywhere (the CSP would refuse it too).
    expect(/<script[^>]+src=|<link[^>]+href=|<iframe|@import/.test(html)).toBe(false);
    expect(html.length).toBeLessThan(400_000);
    const listed = (await cp.client.listResources()).resources.map((r) => r.uri);
    expect(listed).toEqual(expect.arrayContaining(['ui://cloudport/job.html', 'ui://cloudport/browse.html']));
  });

  it('the job view follows an import to 100% and lists its failed file', async () => {
    fx.addFault({ op: 'get', keyIncludes: 'locked.txt', times: 100, action: { type: 'deny' } });
    const page = await mount('ui://cloudport/job.html', 'start_import', { connector_id: conn, index: 'viewed', prefix: 'docs/' });
    const f = frame(page);
    await expect.poll(async () => f.locator('#status').textContent(), { timeout: 30_000 }).toBe('completed with errors');
    fx.clearFaults();
    expect(await f.locator('#files-bar').getAttribute('aria-valuenow')).toBe('100');
    expect(await f.locator('#files-text').textContent()).toBe('13 of 13');
    await expect.poll(async () => f.locator('#failed-rows tr').count()).toBe(1);
    expect(await f.locator('#failed-rows').textContent()).toMatch(/docs\/locked\.txt.*(denied|Access)/);
    expect(await f.locator('#cancel').isDisabled()).toBe(true);
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'view-job.png'), clip: { x: 0, y: 0, width: 660, height: 330 } });
    await page.close();
  });

  it('the Cancel button cancels a running job through the host', async () => {
    fx.addFault({ op: 'get', keyIncludes: 'slow/', times: 100, action: { type: 'stall', afterBytes: 1000, ms: 30_000 } });
    const page = await mount('ui://cloudport/job.html', 'start_import', { connector_id: conn, index: 'cancelled', prefix: 'slow/' });
    const f = frame(page);
    await expect.poll(async () => f.locator('#status').textContent(), { timeout: 20_000 }).toBe('running');
    await f.locator('#cancel').click();
    await expect.poll(async () => f.locator('#status').textContent(), { timeout: 20_000 }).toBe('canceled');
    fx.clearFaults();
    const job = (await cp.ok('list_imports', {})).imports.find((j: { index: string }) => j.index === 'cancelled');
    expect((await waitForJob(cp, job.job_id)).status).toBe('canceled');
    await page.close();
  });

  it('the browse view shows the page as a table, pages on, and imports the selected keys', async () => {
    const page = await mount('ui://cloudport/browse.html', 'browse_connector', { connector_id: conn, prefix: 'docs/', limit: 5 });
    const f = frame(page);
    await expect.poll(async () => f.locator('#rows tr').count()).toBe(5);
    expect(await f.locator('#rows tr').first().textContent()).toContain('docs/file-00.txt');
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'view-browse.png'), clip: { x: 0, y: 0, width: 660, height: 330 } });
    await f.locator('#next').click();
    await expect.poll(async () => f.locator('#rows tr').first().textContent()).toContain('docs/file-05.txt');
    await f.locator('#rows input[type=checkbox]').nth(1).uncheck();
    await f.locator('#index').fill('picked');
    await f.locator('#import').click();
    await expect.poll(async () => f.locator('#msg').textContent()).toMatch(/^import imp_\w+ queued: 4 file/);
    const job = (await cp.ok('list_imports', {})).imports.find((j: { index: string }) => j.index === 'picked');
    expect((await waitForJob(cp, job.job_id)).counts.ready).toBe(4);
    await page.close();
  });
});
