// Shared setup for console tests: an S3 bucket (fauxqs), a --http server, one org's key, Chromium.
import type { Browser, Page } from 'playwright-core';
import { tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';
import { launch } from './chromium.js';

export interface ConsoleEnv { env: S3Env; srv: HttpServer; browser: Browser; key: string; a: HttpClient; base: string; conn: string; stop(): Promise<void> }

/** Puts `files` in a bucket, imports them into `index`, and starts Chromium. */
export async function consoleEnv(files: Record<string, string>, index: string): Promise<ConsoleEnv> {
  const env = await startS3Env(['team']);
  for (const [k, body] of Object.entries(files)) await env.s3.put('team', k, body, { contentType: 'text/plain' });
  const dir = tempDir();
  const key = await createKey(dir, 'acme');
  const srv = await startHttpServer(dir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
  const a = await connectHttp(srv.url, key);
  const conn = (await a.ok('create_connector', env.connector('team'))).connector.id;
  const { job_id } = await a.ok('start_import', { connector_id: conn, index });
  await a.ok('import_status', { job_id, wait_seconds: 30 });
  const browser = await launch();
  return {
    env, srv, browser, key, a, conn, base: srv.url.replace(/\/mcp$/, ''),
    async stop() {
      await browser.close();
      await a.close().catch(() => {});
      await srv.stop();
      await env.stop();
    },
  };
}

export async function signIn(c: ConsoleEnv, hash = ''): Promise<Page> {
  const page = await c.browser.newPage({ viewport: { width: 1100, height: 720 } });
  await page.goto(`${c.base}/ui${hash}`);
  await page.locator('#key').fill(c.key);
  await page.locator('#signin-form button').click();
  await page.locator('#app').waitFor({ state: 'visible' });
  return page;
}
