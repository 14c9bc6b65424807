import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './chromium.js';
import { consoleEnv, signIn, type ConsoleEnv } from './console-env.js';

/**
 * The console's job panel lists a job's failed files with their errors. A job with 60 failed files
 * either lets the reader reach all 60 (a "Show more" that pages on with import_status's cursor, as the
 * other lists do) or says that the table shows 50 of them: the list is never cut silently.
 */
describe.skipIf(!CHROMIUM)('console: the failed files of a job are not cut silently', () => {
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

  it('a job with 60 failed files: all reachable, or the panel says how many it shows', async () => {
    const page = await signIn(c, `#job=${job}`);
    const rows = page.locator('#job-panel td.key');
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) {
      const more = page.locator('#job-panel').getByRole('button', { name: /more/i });
      if ((await more.count()) === 0) break;
      await more.first().click();
      await page.waitForTimeout(500);
    }
    const n = await rows.count();
    const outsideTable = await page.locator('#job-panel').evaluate((p) => [...p.children].filter((e) => e.tagName !== 'TABLE').map((e) => (e as HTMLElement).innerText).join('\n'));
    // Either every failed file is listed, or a note says that the table shows n of the 60.
    expect(n === 60 || new RegExp(`\\b${n}\\b`).test(outsideTable), `${n} rows; panel says: ${outsideTable}`).toBe(true);
    await page.close();
  }, 60_000);
});
