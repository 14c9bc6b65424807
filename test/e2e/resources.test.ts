import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Items as MCP resources, and search, over the HTTP front door with two organizations: each sees,
 * reads, completes and finds only its own items; an item URI of the other org answers "not found".
 */
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/documents');

describe('resources and search over HTTP, per organization', () => {
  let env: S3Env;
  let srv: HttpServer;
  let a: HttpClient;
  let b: HttpClient;

  beforeAll(async () => {
    env = await startS3Env(['acme', 'globex']);
    await env.s3.put('acme', 'legal/contract.docx', fs.readFileSync(path.join(FIXTURES, 'contract.docx')));
    await env.s3.put('acme', 'notes/a b%c ü.txt', 'acme private notes about delaware');
    await env.s3.put('acme', 'bin/blob.bin', Buffer.from([0, 1, 2, 3, 255]));
    await env.s3.put('acme', 'weird/../dotdot.txt', 'behind a dot segment');
    for (let i = 0; i < 120; i++) await env.s3.put('acme', `many/${String(i).padStart(3, '0')}.txt`, `item ${i}`);
    await env.s3.put('globex', 'globex.txt', 'globex secret plan about delaware');
    const dataDir = tempDir();
    const keyA = await createKey(dataDir, 'acme');
    const keyB = await createKey(dataDir, 'globex');
    srv = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
    a = await connectHttp(srv.url, keyA);
    b = await connectHttp(srv.url, keyB);
    for (const [c, bucket, index] of [[a, 'acme', 'docs'], [a, 'acme', 'second'], [b, 'globex', 'docs']] as const) {
      const id = (await c.ok('create_connector', env.connector(bucket))).connector.id;
      const job = await c.ok('start_import', { connector_id: id, index, ...(index === 'second' ? { prefix: 'notes/' } : {}) });
      await until(async () => ['completed', 'completed_with_errors'].includes((await c.ok('import_status', { job_id: job.job_id })).status));
    }
  }, 120_000);
  afterAll(async () => {
    await a?.close().catch(() => {});
    await b?.close().catch(() => {});
    await srv?.stop();
    await env?.stop();
  });

  it('search finds only the caller organization\'s items', async () => {
    expect((await a.ok('search_index', { query: 'delaware' })).results.map((r: { key: string }) => r.key).sort()).toEqual(['legal/contract.docx', 'notes/a b%c ü.txt', 'notes/a b%c ü.txt']);
    expect((await b.ok('search_index', { query: 'delaware' })).results.map((r: { key: string }) => r.key)).toEqual(['globex.txt']);
    expect((await b.ok('search_index', { query: 'acme' })).results).toEqual([]);
    expect((await b.call('search_index', { query: 'x', index: 'second' })).data.error).toMatchObject({ kind: 'not_found' });
  });

  it('lists items as resources, paged, with a template and completion of index names and keys', async () => {
    const { resourceTemplates } = await a.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(['cloudport://indexes/{index}/items/{+key}']);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await a.client.listResources(cursor ? { cursor } : {});
      expect(page.resources.length).toBeLessThanOrEqual(100);
      seen.push(...page.resources.map((r) => r.uri));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    // Two pages of items, then the MCP App views (ui://).
    expect(pages).toBe(3);
    const items = seen.filter((u) => u.startsWith('cloudport://'));
    expect(items).toHaveLength(125); // 124 items of docs, 1 of second
    expect(seen.filter((u) => !u.startsWith('cloudport://'))).toEqual(['ui://cloudport/job.html', 'ui://cloudport/browse.html']);
    expect(seen).toContain('cloudport://indexes/docs/items/notes/a%20b%25c%20%C3%BC.txt');
    expect(seen).toContain('cloudport://indexes/second/items/notes/a%20b%25c%20%C3%BC.txt');
    expect((await b.client.listResources()).resources.map((r) => r.uri)).toEqual(['cloudport://indexes/docs/items/globex.txt']);
    expect((await b.client.listResources({ cursor: (await b.client.listResources()).nextCursor! })).resources.map((r) => r.uri)).toEqual(['ui://cloudport/job.html', 'ui://cloudport/browse.html']);
    const ref = { type: 'ref/resource' as const, uri: 'cloudport://indexes/{index}/items/{+key}' };
    expect((await a.client.complete({ ref, argument: { name: 'index', value: 'se' } })).completion.values).toEqual(['second']);
    expect((await b.client.complete({ ref, argument: { name: 'index', value: '' } })).completion.values).toEqual(['docs']);
    expect((await a.client.complete({ ref, argument: { name: 'key', value: 'legal/' }, context: { arguments: { index: 'docs' } } })).completion.values).toEqual(['legal/contract.docx']);
    // 120 keys under many/: the first 100, and the completion says more exist (no total it does not know).
    const many = (await a.client.complete({ ref, argument: { name: 'key', value: 'many/' }, context: { arguments: { index: 'docs' } } })).completion;
    expect(many).toMatchObject({ hasMore: true });
    expect(many.values).toHaveLength(100);
    expect(many.total).toBeUndefined();
    expect((await a.client.complete({ ref, argument: { name: 'key', value: 'many/11' }, context: { arguments: { index: 'docs' } } })).completion).toMatchObject({ total: 10, hasMore: false });
  });

  it('reads text, extracted text and bytes; another organization\'s item is not found', async () => {
    const note = await a.client.readResource({ uri: 'cloudport://indexes/docs/items/notes/a%20b%25c%20%C3%BC.txt' });
    expect(note.contents[0]).toMatchObject({ text: 'acme private notes about delaware' });
    const docx = await a.client.readResource({ uri: 'cloudport://indexes/docs/items/legal/contract.docx' });
    expect((docx.contents[0] as { text: string }).text).toContain('Master Services Agreement');
    const bin = await a.client.readResource({ uri: 'cloudport://indexes/docs/items/bin/blob.bin' });
    expect(Buffer.from((bin.contents[0] as { blob: string }).blob, 'base64')).toEqual(Buffer.from([0, 1, 2, 3, 255]));
    await expect(b.client.readResource({ uri: 'cloudport://indexes/docs/items/legal/contract.docx' })).rejects.toThrow(/not found/);
    await expect(b.client.readResource({ uri: 'cloudport://indexes/second/items/notes/x' })).rejects.toThrow(/not found/);
    await expect(a.client.readResource({ uri: 'file:///etc/passwd' })).rejects.toThrow(/no resource/);
    // A key with a ".." segment: its "/" are encoded, so a client that normalizes the URI keeps it.
    const all = [];
    for (let cursor: string | undefined; ; ) {
      const page = await a.client.listResources(cursor ? { cursor } : {});
      all.push(...page.resources);
      if (!(cursor = page.nextCursor)) break;
    }
    const dotted = all.find((r) => r.name?.includes('dotdot') || r.uri.includes('dotdot'))!;
    expect(dotted.uri).toBe('cloudport://indexes/docs/items/weird%2F..%2Fdotdot.txt');
    expect(new URL(dotted.uri).href).toBe(dotted.uri);
    expect((await a.client.readResource({ uri: dotted.uri })).contents[0]).toMatchObject({ text: 'behind a dot segment' });
    // A URI longer than any item's is refused without echoing it, and the message has the SDK's prefix once.
    const long = `cloudport://indexes/docs/items/${'x'.repeat(100_000)}`;
    const err = await a.client.readResource({ uri: long }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^MCP error -32602: uri is 100031 characters, longer than any item's/);
    expect((err as Error).message.length).toBeLessThan(400);
    await expect(a.client.readResource({ uri: 'cloudport://indexes/docs/items/nope.txt' })).rejects.toThrow(/^MCP error -32002: item "nope.txt" not found/);
    await expect(a.client.listResources({ cursor: 'garbage' })).rejects.toThrow(/cursor/);
    // A provider's cursor is one this server made for this organization: made up, or another's, it is refused.
    await expect(a.client.listResources({ cursor: '1:garbage' })).rejects.toThrow(/cursor is not valid/);
    await expect(a.client.listResources({ cursor: `0:${Buffer.from(JSON.stringify({ i: 'docs', k: null })).toString('base64url')}` })).rejects.toThrow(/cursor is not valid/);
    const mine = (await a.client.listResources()).nextCursor;
    if (mine?.startsWith('0:')) await expect(b.client.listResources({ cursor: mine })).rejects.toThrow(/cursor is not valid/);
  });
});

async function until(fn: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out');
}
