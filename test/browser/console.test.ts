import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';
import { CHROMIUM, SCREENSHOTS, launch } from './chromium.js';

/**
 * The web console of the team server (GET /ui) in headless Chromium: signs in with an API key, shows
 * connectors, starts an import and follows it to 100%, lists a failed file, cancels a job, reads and
 * searches an index; a read-only key sees no write buttons; another org's ids answer like unknown ones.
 */
describe.skipIf(!CHROMIUM)('web console in Chromium', () => {
  let env: S3Env;
  let srv: HttpServer;
  let browser: Browser;
  let keyA: string;
  let keyRO: string;
  let keyB: string;
  let a: HttpClient;
  let base: string;

  const signIn = async (key: string, hash = ''): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${base}/ui${hash}`);
    await page.locator('#key').fill(key);
    await page.locator('#signin-form button').click();
    await page.locator('#app').waitFor({ state: 'visible' });
    expect(errors).toEqual([]);
    return page;
  };

  beforeAll(async () => {
    env = await startS3Env(['team']);
    for (let i = 0; i < 8; i++) await env.s3.put('team', `docs/note-${i}.txt`, `Quarterly note ${i}: the harbour expansion is on schedule.`);
    await env.s3.put('team', 'docs/locked.txt', 'secret');
    for (let i = 0; i < 3; i++) await env.s3.put('team', `slow/part-${i}.bin`, Buffer.alloc(300_000, i));
    const dataDir = tempDir();
    keyA = await createKey(dataDir, 'acme');
    keyRO = await createKey(dataDir, 'acme', true);
    keyB = await createKey(dataDir, 'globex');
    srv = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
    base = srv.url.replace(/\/mcp$/, '');
    a = await connectHttp(srv.url, keyA);
    await a.ok('create_connector', env.connector('team', { name: 'team-docs' }));
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await a?.close();
    await srv?.stop();
    await env?.stop();
  });

  it('serves the page with a strict CSP, never framed, and refuses a wrong key', async () => {
    const res = await fetch(`${base}/ui`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'; connect-src 'self';.*frame-ancestors 'none'$/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('set-cookie')).toBeNull();
    const html = await res.text();
    expect(html).not.toContain(keyA);
    const page = await browser.newPage();
    await page.goto(`${base}/ui`);
    await page.locator('#key').fill('ck_wrong');
    await page.locator('#signin-form button').click();
    await expect.poll(() => page.locator('#signin-error').textContent()).toContain('refused');
    await page.close();
  });

  it('signs in, shows the connector, starts an import and follows it to 100% with its failed file', async () => {
    env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'locked.txt' }, times: 100, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
    const page = await signIn(keyA);
    await expect.poll(() => page.locator('tr', { hasText: 'team-docs' }).count()).toBe(1);
    expect(await page.locator('#who').textContent()).toBe('read-write key');
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'console-connectors.png') });
    await page.locator('tr', { hasText: 'team-docs' }).getByRole('button', { name: 'Import…' }).click();
    await page.locator('#import-index').fill('notes');
    await page.locator('#import-prefix').fill('docs/');
    await page.getByRole('button', { name: 'Start import' }).click();
    await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 30_000 }).toBe('completed with errors');
    fetchFaultsClear();
    expect(await page.locator('#job-panel [aria-label=files]').getAttribute('aria-valuenow')).toBe('100');
    expect(await page.locator('#job-files').textContent()).toBe('9 of 9');
    expect(await page.locator('#job-panel td.key').allTextContents()).toEqual(['docs/locked.txt']);
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'console-job.png') });
    await page.close();
  });

  it('cancels a running job', async () => {
    env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'slow/' }, times: 100, action: { type: 'stall', afterBytes: 1000, ms: 30_000 } });
    const { job_id } = await a.ok('start_import', { connector_id: (await a.ok('list_connectors', {})).connectors[0].id, index: 'stalled', prefix: 'slow/' });
    const page = await signIn(keyA, `#job=${job_id}`);
    await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 20_000 }).toBe('running');
    await page.locator('#job-cancel').click();
    await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 20_000 }).toBe('canceled');
    fetchFaultsClear();
    await page.close();
  });

  it('reads and searches an index', async () => {
    const conn = (await a.ok('list_connectors', {})).connectors[0].id;
    const { job_id } = await a.ok('start_import', { connector_id: conn, index: 'library', prefix: 'docs/note-' });
    await a.ok('import_status', { job_id, wait_seconds: 20 });
    const page = await signIn(keyA, '#indexes');
    await page.getByRole('button', { name: 'library' }).click();
    await page.getByRole('button', { name: 'docs/note-3.txt' }).click();
    await expect.poll(() => page.locator('#item-body').textContent()).toContain('Quarterly note 3');
    await page.locator('#search').fill('harbour');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('mark').first().textContent()).toBe('harbour');
    expect(await page.locator('#error').textContent()).toBe('');
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'console-search.png') });
    await page.close();
  });

  it('a read-only key sees no write buttons; another organization sees none of it', async () => {
    const ro = await signIn(keyRO);
    await expect.poll(() => ro.locator('tr', { hasText: 'team-docs' }).count()).toBe(1);
    expect(await ro.locator('#who').textContent()).toBe('read-only access');
    expect(await ro.getByRole('button', { name: 'Import…' }).count()).toBe(0);
    const job = (await a.ok('list_imports', { index: 'notes' })).imports[0].job_id;
    await ro.evaluate((id) => (location.hash = `job=${id}`), job);
    await expect.poll(() => ro.locator('#job-status').count()).toBe(1);
    expect(await ro.locator('#job-cancel').count()).toBe(0);
    await ro.close();

    const other = await signIn(keyB);
    await expect.poll(() => other.locator('main').textContent()).toContain('No connectors yet');
    await other.evaluate((id) => (location.hash = `job=${id}`), job);
    await expect.poll(() => other.locator('#error').textContent()).toMatch(new RegExp(`${job}.*not found`, 'i'));
    const foreign = await other.locator('#error').textContent();
    await other.evaluate(() => (location.hash = 'job=imp_0000000000000000000000000'));
    await expect.poll(() => other.locator('#error').textContent()).toContain('imp_0000000000000000000000000');
    // The same answer as for an id that never existed, but for the id itself.
    expect(foreign!.replace(job, 'ID')).toBe((await other.locator('#error').textContent())!.replace('imp_0000000000000000000000000', 'ID'));
    await other.close();
  });

  it('pauses and resumes an automation', async () => {
    const conn = (await a.ok('list_connectors', {})).connectors[0].id;
    const { automation } = await a.ok('create_automation', { kind: 'import', connector_id: conn, index: 'nightly', prefix: 'docs/', schedule: '0 3 * * *', name: 'nightly-docs' });
    const page = await signIn(keyA, '#automations');
    const row = page.locator('tr', { hasText: 'nightly-docs' });
    await row.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => row.getByRole('button', { name: 'Resume' }).count()).toBe(1);
    expect((await a.ok('list_automations', {})).automations.find((x: { id: string }) => x.id === automation.id).enabled).toBe(false);
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'console-automations.png') });
    await row.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => row.getByRole('button', { name: 'Pause' }).count()).toBe(1);
    await page.close();
  });

  it('signing out stops the page: no call without a key, and the next key never sees the previous one\'s data', async () => {
    const page = await signIn(keyA, '#jobs');
    await expect.poll(() => page.locator('h2').textContent()).toBe('Jobs');
    const sent: (string | null)[] = [];
    page.on('request', (r) => r.url().endsWith('/mcp') && sent.push(r.headers().authorization ?? null));
    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await page.locator('#page').innerHTML()).toBe('');
    await page.locator('#key').fill(keyB);
    await page.locator('#signin-form button').click();
    await expect.poll(() => page.locator('main').textContent()).toContain('No jobs yet');
    // Two refresh periods later, still globex's (empty) page; no request went out without a key.
    await page.waitForTimeout(3200);
    expect(await page.locator('main').textContent()).toContain('No jobs yet');
    expect(sent.filter((h) => h !== null && h !== `Bearer ${keyB}`)).toEqual([`Bearer ${keyA}`]); // the DELETE of A's session
    expect(sent).not.toContain('Bearer null');
    await page.close();
  });

  function fetchFaultsClear(): void {
    env.proxy.clearFaults();
  }
});
