import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A resource read as text says text: bytes stored under S3's default type (application/octet-stream)
 * that read_item reads as text are answered as text/plain, over the team server (loopback only). A
 * binary under that type is answered with the type its bytes say (a PNG: image/png), and read_item
 * names it beside the stored one.
 */

/** A 1×1 grey PNG, made here: signature, IHDR, IDAT, IEND. */
function pixelPng(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.from([0, 128]))), chunk('IEND', Buffer.alloc(0))]);
}
describe('resources over HTTP: text types', () => {
  let env: S3Env;
  let srv: HttpServer;
  let a: HttpClient;

  beforeAll(async () => {
    env = await startS3Env(['team']);
    // S3's default content type: a text file uploaded without one (as `aws s3 cp` of many tools does).
    await env.s3.put('team', 'notes/plain.txt', 'plain words, no content type', { contentType: 'application/octet-stream' });
    await env.s3.put('team', 'notes/pixel', pixelPng(), { contentType: 'application/octet-stream' });
    const dataDir = tempDir();
    const key = await createKey(dataDir, 'acme');
    srv = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
    a = await connectHttp(srv.url, key);
    const { connector } = await a.ok('create_connector', env.connector('team'));
    const { job_id } = await a.ok('start_import', { connector_id: connector.id, index: 'notes' });
    await a.ok('import_status', { job_id, wait_seconds: 20 });
  });
  afterAll(async () => {
    await a?.close();
    await srv?.stop();
    await env?.stop();
  });

  it('an item read as text carries a text mime type', async () => {
    expect((await a.ok('read_item', { index: 'notes', key: 'notes/plain.txt' })).text).toBe('plain words, no content type');
    const r = await a.client.readResource({ uri: 'cloudport://indexes/notes/items/notes/plain.txt' });
    const c = r.contents[0] as { text?: string; mimeType: string };
    expect(c.text).toBe('plain words, no content type');
    expect(c.mimeType).toBe('text/plain');
  });

  it('a binary under a type that says nothing is answered with the type its bytes say', async () => {
    const read = await a.call('read_item', { index: 'notes', key: 'notes/pixel' });
    expect(read.text).toContain('binary content (image/png by its bytes, stored as application/octet-stream); not shown as text');
    expect(read.text).toContain('text_status unsupported');
    const r = await a.client.readResource({ uri: 'cloudport://indexes/notes/items/notes/pixel' });
    const c = r.contents[0] as { blob?: string; mimeType: string };
    expect(c.mimeType).toBe('image/png');
    expect(Buffer.from(c.blob!, 'base64').equals(pixelPng())).toBe(true);
  });
});
