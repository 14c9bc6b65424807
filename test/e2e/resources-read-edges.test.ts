import fs from 'node:fs';
import path from 'node:path';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { sha256, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * resources/read as an IDE client uses it, against read_item for the same items (team server, loopback):
 * - an extracted text cut at an extraction limit says so in the resource, as read_item's note does;
 * - a text resource sends at most 1 MiB of text before its pointer to read_item (multi-byte text too);
 * - an item whose stored content is gone is a server-side error (-32603), not "Invalid params" (-32602);
 * - the advertised template {+key}, expanded as RFC 6570 says (a key's own "%XX" passed through), reads
 *   the item whose key was completed (keys holding "%XX", as Google Drive keys do for "/" and "%"); the
 *   SDK's expansion (which encodes "%") reads it too.
 */
const LIMIT = 2000;

/** RFC 6570 level 2 expansion: {var} encodes all but unreserved; {+var} also keeps reserved characters and %XX triplets. */
function expand(template: string, vars: Record<string, string>): string {
  const unreserved = /[A-Za-z0-9\-._~]/;
  const reserved = /[:/?#[\]@!$&'()*+,;=]/;
  return template.replace(/\{(\+?)(\w+)\}/g, (_, plus: string, name: string) => {
    const v = vars[name]!;
    let out = '';
    for (let i = 0; i < v.length; ) {
      const cp = v.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      if (plus && ch === '%' && /^%[0-9A-Fa-f]{2}/.test(v.slice(i, i + 3))) { out += v.slice(i, i + 3); i += 3; continue; }
      if (unreserved.test(ch) || (plus && reserved.test(ch))) out += ch;
      else out += encodeURIComponent(ch);
      i += ch.length;
    }
    return out;
  });
}

describe('resources/read edges', () => {
  let env: S3Env;
  let srv: HttpServer;
  let a: HttpClient;
  let dataDir: string;

  beforeAll(async () => {
    env = await startS3Env(['acme']);
    const html = `<!doctype html><html><body>${Array.from({ length: 200 }, (_, i) => `<p>paragraph ${i} lorem ipsum dolor</p>`).join('')}</body></html>`;
    await env.s3.put('acme', 'page.html', html, { contentType: 'text/html' });
    await env.s3.put('acme', 'cjk.txt', '日'.repeat(800_000), { contentType: 'text/plain' });
    await env.s3.put('acme', 'gone.bin', Buffer.from([0, 1, 2, 3, 255, 0, 9]), { contentType: 'application/octet-stream' });
    await env.s3.put('acme', 'report%20final.txt', 'the final report');
    await env.s3.put('acme', 'drive%2Fstyle.txt', 'a key as Drive writes a slash in a name');
    dataDir = tempDir();
    const key = await createKey(dataDir, 'acme');
    srv = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32'], { CLOUDPORT_EXTRACT_MAX_TEXT_BYTES: String(LIMIT) });
    a = await connectHttp(srv.url, key);
    const { connector } = await a.ok('create_connector', env.connector('acme'));
    const { job_id } = await a.ok('start_import', { connector_id: connector.id, index: 'docs' });
    expect((await a.ok('import_status', { job_id, wait_seconds: 30 })).status).toBe('completed');
  }, 120_000);
  afterAll(async () => {
    await a?.close();
    await srv?.stop();
    await env?.stop();
  });

  it('a resource whose extracted text was cut at a limit says so, as read_item does', async () => {
    const item = await a.ok('read_item', { index: 'docs', key: 'page.html' });
    expect(item.text_status).toBe('truncated');
    expect(item.note).toMatch(/limit/);
    const c = (await a.client.readResource({ uri: 'cloudport://indexes/docs/items/page.html' })).contents[0] as { text: string };
    expect(c.text.startsWith(item.text)).toBe(true);
    // Not silently cut: something after the text tells the reader that the document goes on.
    expect(c.text.slice(item.text.length)).toMatch(/limit/);
  });

  it('a text resource holds at most 1 MiB of text before its pointer to read_item', async () => {
    const c = (await a.client.readResource({ uri: 'cloudport://indexes/docs/items/cjk.txt' })).contents[0] as { text: string };
    const m = /\n\[the text goes on: read_item .*"offset": (\d+)\}\]$/.exec(c.text);
    expect(m).not.toBeNull();
    const body = c.text.slice(0, m!.index);
    expect(Buffer.byteLength(body)).toBe(Number(m![1]));
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(1024 * 1024);
  });

  it('an item whose stored content is missing answers a server error, not invalid params', async () => {
    const sha = sha256(Buffer.from([0, 1, 2, 3, 255, 0, 9]));
    fs.rmSync(path.join(dataDir, 'blobs', sha.slice(0, 2), sha));
    const err = (await a.client.readResource({ uri: 'cloudport://indexes/docs/items/gone.bin' }).catch((e: unknown) => e)) as { code: number; message: string };
    expect(err.message).toMatch(/missing/);
    expect(err.code).toBe(-32603);
  });

  it('the advertised template, expanded per RFC 6570 with a completed key, reads that key', async () => {
    const { resourceTemplates } = await a.client.listResourceTemplates();
    const template = resourceTemplates[0]!.uriTemplate;
    const ref = { type: 'ref/resource' as const, uri: template };
    const keys = (await a.client.complete({ ref, argument: { name: 'key', value: 'report' }, context: { arguments: { index: 'docs' } } })).completion.values;
    expect(keys).toContain('report%20final.txt');
    const uri = expand(template, { index: 'docs', key: 'report%20final.txt' });
    const c = (await a.client.readResource({ uri })).contents[0] as { text: string };
    expect(c.text).toBe('the final report');
    const drive = expand(template, { index: 'docs', key: 'drive%2Fstyle.txt' });
    expect(((await a.client.readResource({ uri: drive })).contents[0] as { text: string }).text).toBe('a key as Drive writes a slash in a name');
    const sdk = new UriTemplate(template).expand({ index: 'docs', key: 'drive%2Fstyle.txt' });
    expect(((await a.client.readResource({ uri: sdk })).contents[0] as { text: string }).text).toBe('a key as Drive writes a slash in a name');
  });
});
