/**
 * list_automations and list_imports keep a page's text within the budget the other lists keep (README:
 * a page is under 12 KB of text): the text is the summary and the page as columns, one row per automation
 * or job; a page that would be longer ends early with a cursor, and paging on reaches every row once.
 * structuredContent holds the same rows as the text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

const BUDGET = 12 * 1024;

/** Every page of a list tool from the first: each page's text checked against the budget and against its rows. */
async function pages(cp: Running, tool: string, args: Record<string, unknown>, rowsOf: string) {
  const all: any[] = [];
  let count = 0;
  for (let cursor: string | undefined; ; ) {
    const r = await cp.call(tool, { ...args, ...(cursor ? { cursor } : {}) });
    expect(r.isError, r.text).toBe(false);
    expect(r.text.length).toBeLessThanOrEqual(BUDGET);
    const [, json] = r.text.split('\n');
    const page = JSON.parse(json!);
    expect(page[rowsOf]).toHaveLength(r.data[rowsOf].length);
    expect(page.next_cursor).toBe(r.data.next_cursor);
    all.push(...page[rowsOf].map((row: unknown[]) => Object.fromEntries(page.columns.map((c: string, i: number) => [c, row[i]]))));
    count++;
    if (!r.data.next_cursor) return { rows: all, pages: count };
    cursor = r.data.next_cursor;
  }
}

describe('list_automations and list_imports pages', () => {
  let env: S3Env;
  let cp: Running;
  let conn: string;
  beforeAll(async () => {
    env = await startS3Env(['list-budget']);
    await env.s3.put('list-budget', 'a.md', 'a');
    cp = await startCloudport({ dataDir: tempDir() });
    conn = (await cp.ok('create_connector', env.connector('list-budget'))).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('list_automations: 100 automations, long names among them, page within the budget and reach all 100', async () => {
    for (let i = 0; i < 100; i++) {
      const name = i % 10 === 0 ? `nightly-${i}-${'n'.repeat(80)}` : `nightly-${i}`;
      await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'nightly', prefix: 'in/', schedule: '1d', name });
    }
    const { rows, pages: n } = await pages(cp, 'list_automations', {}, 'automations');
    expect(n).toBeGreaterThan(1);
    expect(new Set(rows.map((a) => a.id)).size).toBe(100);
    expect(rows.length).toBe(100);
    // The text's columns carry what an agent asks of an automation.
    expect(rows[0]).toMatchObject({ kind: 'import', index: 'nightly', prefix: 'in/', schedule: '1d', state: 'active', import_mode: 'new_only', runs: 0 });
    expect(rows[0].next_run_at).toEqual(expect.any(String));
  });

  it('list_automations: a page of 20 keeps 20 and its rows match structuredContent', async () => {
    const r = await cp.call('list_automations', { limit: 20 });
    const page = JSON.parse(r.text.split('\n')[1]!);
    expect(r.data.automations).toHaveLength(20);
    r.data.automations.forEach((a: any, i: number) => page.columns.forEach((c: string, j: number) => expect(page.automations[i][j]).toEqual(a[c])));
  });

  it('list_imports: 100 jobs page within the budget and reach all 100, counts in columns', async () => {
    // Explicit keys: each call makes a job at once, of one small file.
    for (let i = 0; i < 100; i++) await cp.ok('start_import', { connector_id: conn, index: `ix${i}`, keys: ['a.md'] });
    const { rows, pages: n } = await pages(cp, 'list_imports', {}, 'imports');
    expect(n).toBeGreaterThan(1);
    expect(new Set(rows.map((j) => j.job_id)).size).toBe(100);
    expect(rows.length).toBe(100);
    const page = await cp.call('list_imports', { limit: 20 });
    const text = JSON.parse(page.text.split('\n')[1]!);
    expect(text.imports).toHaveLength(20);
    page.data.imports.forEach((j: any, i: number) => {
      const row = Object.fromEntries(text.columns.map((c: string, k: number) => [c, text.imports[i][k]]));
      expect(row).toMatchObject({ job_id: j.job_id, kind: 'import', status: j.status, index: j.index, connector_id: conn, automation_id: null, exported: null });
      for (const c of ['pending', 'ready', 'deduped', 'skipped', 'failed', 'canceled']) expect(row[c]).toBe(j.counts[c]);
    });
  });
});
