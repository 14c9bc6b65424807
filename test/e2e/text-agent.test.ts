import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * An agent whose client hands it only the text content of each result (many do): it never looks at
 * structuredContent. It browses two pages, imports, waits, lists, reads a deduplicated key and reads
 * a long document to its end, all from the text; and the page texts stay within their budgets.
 */
const TEXT_BUDGET = 12 * 1024;

/** What the agent reads: the text content only. */
async function text(cp: Running, name: string, args: Record<string, unknown>): Promise<string> {
  const r = await cp.client.callTool({ name, arguments: args });
  const t = (r.content as { type: string; text: string }[]).map((c) => c.text).join('\n');
  if (r.isError) throw new Error(`${name}: ${t}`);
  return t;
}

/** The JSON line after the summary line. */
const body = (t: string): Record<string, any> => JSON.parse(t.slice(t.indexOf('\n') + 1));

describe('a text-only agent over stdio', () => {
  let env: S3Env;
  let cp: Running;
  const long = Array.from({ length: 3000 }, (_, i) => `line ${i}: ünïcödé € 漢字 ${'x'.repeat(i % 17)}`).join('\n') + '\n';
  const docKey = (i: number) => `docs/${'x'.repeat(27)}-${String(i).padStart(3, '0')}.txt`; // 40 bytes

  beforeAll(async () => {
    env = await startS3Env(['text']);
    for (let i = 0; i < 150; i++) await env.s3.put('text', docKey(i), `document ${i}`);
    for (const k of ['dup/a.txt', 'dup/b.txt', 'dup/c.txt']) await env.s3.put('text', k, 'the same words three times');
    await env.s3.put('text', 'long/book.txt', long);
    for (let i = 0; i < 40; i++) await env.s3.put('text', `wide/${String(i).padStart(2, '0')}-${'k'.repeat(900)}`, `w${i}`);
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('browses two pages, imports, waits, lists, reads a deduplicated key and a long file to its end, from text alone', async () => {
    const created = await text(cp, 'create_connector', env.connector('text'));
    const connectorId = body(created).connector.id as string;
    expect(connectorId).toMatch(/^conn_/);

    const first = await text(cp, 'browse_connector', { connector_id: connectorId, prefix: 'docs/' });
    expect(Buffer.byteLength(first)).toBeLessThanOrEqual(TEXT_BUDGET);
    const p1 = body(first);
    expect(p1.objects).toHaveLength(100);
    expect(p1.next_cursor).toBeTruthy();
    const second = body(await text(cp, 'browse_connector', { connector_id: connectorId, prefix: 'docs/', cursor: p1.next_cursor }));
    expect(second.next_cursor).toBeNull();
    const browsed = [...p1.objects, ...second.objects].map((row: [string, number, string]) => row[0]);
    expect(new Set(browsed)).toEqual(new Set(Array.from({ length: 150 }, (_, i) => docKey(i))));

    const started = body(await text(cp, 'start_import', { connector_id: connectorId, index: 'texts' }));
    const jobId = started.job_id as string;
    let calls = 0;
    let status: Record<string, any>;
    do {
      calls++;
      status = body(await text(cp, 'import_status', { job_id: jobId, wait_seconds: 30 }));
    } while (!['completed', 'completed_with_errors', 'failed'].includes(status.status) && calls < 20);
    expect(status.status).toBe('completed');
    expect(calls).toBeLessThanOrEqual(2);

    const keys: string[] = [];
    let cursor: string | null = null;
    do {
      const t = await text(cp, 'list_index_items', { index: 'texts', ...(cursor ? { cursor } : {}) });
      expect(Buffer.byteLength(t)).toBeLessThanOrEqual(TEXT_BUDGET);
      const page = body(t);
      keys.push(...page.items.map((row: [string]) => row[0]));
      cursor = page.next_cursor;
    } while (cursor);
    expect(keys).toContain('dup/b.txt');
    expect(keys).toContain('long/book.txt');
    expect(keys.length).toBe(150 + 3 + 1 + 40);

    // A key stored as a duplicate of another reads like any other.
    const dup = await text(cp, 'read_item', { index: 'texts', key: 'dup/c.txt' });
    expect(dup.slice(dup.indexOf('\n\n') + 2)).toBe('the same words three times');

    // A long document, page by page: each text is the content itself; the header says where to go on.
    let offset = 0;
    let read = '';
    let pages = 0;
    for (;;) {
      const t = await text(cp, 'read_item', { index: 'texts', key: 'long/book.txt', offset });
      pages++;
      const header = t.slice(0, t.indexOf('\n'));
      read += t.slice(t.indexOf('\n\n') + 2);
      const m = /next_offset (\d+)/.exec(header);
      if (!m) {
        expect(header).toContain('next_offset null');
        break;
      }
      offset = Number(m[1]);
    }
    expect(read).toBe(long);
    expect(pages).toBe(Math.ceil(Buffer.byteLength(long) / (32 * 1024)));
  });

  it('long keys make a page shorter (fewer entries and a cursor), never an entry cut', async () => {
    const connectorId = body(await text(cp, 'list_connectors', {})).connectors[0].id as string;
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const t = await text(cp, 'browse_connector', { connector_id: connectorId, prefix: 'wide/', ...(cursor ? { cursor } : {}) });
      expect(Buffer.byteLength(t)).toBeLessThanOrEqual(TEXT_BUDGET);
      const page = body(t);
      for (const [key] of page.objects as [string][]) {
        expect(key).toHaveLength(5 + 3 + 900);
        seen.push(key);
      }
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThan(1);
    expect(new Set(seen).size).toBe(40);
    expect(seen).toHaveLength(40);
  });
});
