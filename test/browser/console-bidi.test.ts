import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, until } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';
import { CHROMIUM, launch } from './chromium.js';

/**
 * The web console escapes control, bidi and invisible characters of keys as tool text does (\u202e): a
 * key "invoice<U+202E>fdp.exe" never shows as "invoiceexe.pdf" to the person deciding what to read or
 * export.
 */
const KEY = 'docs/invoice\u202Efdp.exe';

describe.skipIf(!CHROMIUM)('web console: a bidi override in a key cannot reorder what is shown', () => {
  let env: S3Env;
  let srv: HttpServer;
  let browser: Browser;
  let key: string;
  let a: HttpClient;

  beforeAll(async () => {
    env = await startS3Env(['team']);
    await env.s3.put('team', KEY, 'not an invoice', { contentType: 'text/plain' });
    const dir = tempDir();
    key = await createKey(dir, 'acme');
    srv = await startHttpServer(dir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
    a = await connectHttp(srv.url, key);
    const id = (await a.ok('create_connector', env.connector('team'))).connector.id;
    const { job_id } = await a.ok('start_import', { connector_id: id, index: 'bills' });
    await until('import', async () => (await a.ok('import_status', { job_id })).status === 'completed');
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await a?.close().catch(() => {});
    await srv?.stop();
    await env?.stop();
  });

  it('the index page shows the key escaped, as the tool text does', async () => {
    // The tool's text escapes the override…
    expect((await a.call('list_index_items', { index: 'bills' })).text).toContain('docs/invoice\\u202efdp.exe');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${srv.url.replace(/\/mcp$/, '')}/ui#indexes`);
    await page.locator('#key').fill(key);
    await page.locator('#signin-form button').click();
    await page.getByRole('button', { name: 'bills' }).click();
    await expect.poll(() => page.locator('td.key').count()).toBe(1);
    const shown = (await page.locator('td.key').textContent())!;
    expect(errors).toEqual([]);
    // …and so does the console.
    expect(shown).not.toContain('\u202E');
    expect(shown).toContain('docs/invoice\\u202efdp.exe');
    await page.close();
  });
});
