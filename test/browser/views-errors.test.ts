import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';
import { CHROMIUM, hostScript, launch } from './chromium.js';

/**
 * The console and the MCP App views where a call goes wrong or ends, in Chromium against a live --http
 * server (loopback only): an item read to its end shows its text and nothing after it; a refused
 * start_import and a failed browse show their errors, and the browse view offers no actions then.
 */
describe.skipIf(!CHROMIUM)('console and views: ends and errors', () => {
  let env: S3Env;
  let srv: HttpServer;
  let browser: Browser;
  let key: string;
  let a: HttpClient;
  let base: string;
  let host: string;
  let conn: string;

  beforeAll(async () => {
    env = await startS3Env(['team']);
    await env.s3.put('team', 'docs/short.txt', 'a short note', { contentType: 'text/plain' });
    const dataDir = tempDir();
    key = await createKey(dataDir, 'acme');
    srv = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
    base = srv.url.replace(/\/mcp$/, '');
    a = await connectHttp(srv.url, key);
    conn = (await a.ok('create_connector', env.connector('team', { name: 'team-docs' }))).connector.id;
    const { job_id } = await a.ok('start_import', { connector_id: conn, index: 'notes', prefix: 'docs/' });
    await a.ok('import_status', { job_id, wait_seconds: 20 });
    [browser, host] = await Promise.all([launch(), hostScript()]);
  });
  afterAll(async () => {
    await browser?.close();
    await a?.close();
    await srv?.stop();
    await env?.stop();
  });

  it('console: an item read to its end shows its text and nothing after it', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/ui#indexes`);
    await page.locator('#key').fill(key);
    await page.locator('#signin-form button').click();
    await page.getByRole('button', { name: 'notes' }).click();
    await page.getByRole('button', { name: 'docs/short.txt' }).click();
    await expect.poll(() => page.locator('#item-body').textContent()).toBe('a short note');
    expect(await page.locator('#item-more').count()).toBe(0);
    const stray = await page.locator('#item-text').evaluate((e) => [...e.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent));
    expect(stray).toEqual([]);
    await page.close();
  });

  const mount = async (uri: string, tool: string, args: Record<string, unknown>): Promise<Page> => {
    const page = await browser.newPage();
    await page.exposeFunction('cloudportCall', (name: string, x: Record<string, unknown>) => a.client.callTool({ name, arguments: x }));
    await page.setContent(`<!doctype html><html><body><script>${host}</script></body></html>`);
    const html = ((await a.client.readResource({ uri })).contents[0] as { text: string }).text;
    const result = await a.client.callTool({ name: tool, arguments: args });
    expect(result.isError).toBe(true);
    await page.evaluate(([h, i, r]) => window.mountView(h as string, i as Record<string, unknown>, r), [html, args, result] as const);
    return page;
  };

  it('job view: a refused start_import shows its error, not "Waiting for a job…"', async () => {
    const page = await mount('ui://cloudport/job.html', 'start_import', { connector_id: conn, index: 'none', prefix: 'nothing-here/' });
    const f = page.frameLocator('iframe');
    await f.locator('#title').waitFor();
    await expect.poll(() => f.locator('body').innerText(), { timeout: 5000 }).toMatch(/No job[\s\S]*not_found: no object matched/);
    await page.close();
  });

  // .bar's display must not override the hidden attribute of #actions.
  it('browse view: a failed browse shows its error and no import actions', async () => {
    const page = await mount('ui://cloudport/browse.html', 'browse_connector', { connector_id: 'conn_0000000000000000000000000' });
    const f = page.frameLocator('iframe');
    await f.locator('#title').waitFor();
    expect(await f.locator('#actions').isVisible()).toBe(false);
    await expect.poll(() => f.locator('body').innerText(), { timeout: 5000 }).toMatch(/not_found|not found/);
    await page.close();
  });
});
