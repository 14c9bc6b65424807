import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Provider } from '../../src/providers/s3/provider.js';
import { parseListV2 } from '../../src/providers/s3/fast-get.js';

const rejected = { kind: 'unexpected', temporary: true };
const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const page = (decl: string, key: string) =>
  `${decl}\n<ListBucketResult ${NS}><Name>bkt</Name><KeyCount>1</KeyCount><IsTruncated>false</IsTruncated><Contents><Key>${key}</Key><Size>5</Size></Contents></ListBucketResult>`;

describe('ListObjectsV2 page parser: strict XML 1.0, one encoding', () => {
  it('reads a page that declares version="1.1" by XML 1.0 rules: NEL and LINE SEPARATOR in a key stay as sent', () => {
    // saxes switches to XML 1.1 rules on the declaration: U+0085 and U+2028 become "\n" (another key).
    const xml = page('<?xml version="1.1" encoding="UTF-8"?>', 'a\u0085b\u2028c');
    let keys: string[] | Error;
    try {
      keys = parseListV2(xml).objects.map((o) => o.key);
    } catch (e) {
      keys = e as Error;
    }
    // Either read exactly, or refused, never a different key.
    if (keys instanceof Error) expect(keys).toMatchObject(rejected);
    else expect(keys).toEqual(['a\u0085b\u2028c']);
    // XML 1.0 has no character reference to a C0 control character: a 1.1 page must not smuggle one in.
    expect(() => parseListV2(page('<?xml version="1.1"?>', 'a&#1;b'))).toThrow(expect.objectContaining(rejected));
  });

  it('refuses a page that declares an encoding other than UTF-8 (its text was decoded as UTF-8)', () => {
    // "café" sent in ISO-8859-1 arrives as "caf\uFFFD" once decoded as UTF-8: a key the bucket does not hold.
    expect(() => parseListV2(page('<?xml version="1.0" encoding="ISO-8859-1"?>', 'caf\uFFFD'))).toThrow(expect.objectContaining(rejected));
    expect(() => parseListV2(page('<?xml version="1.0" encoding="windows-1252"?>', 'plain'))).toThrow(expect.objectContaining(rejected));
    // UTF-8 in any spelling, or none, is read.
    for (const d of ['<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0"?>', '']) {
      expect(parseListV2(page(d, 'caf\u00e9')).objects[0]!.key).toBe('caf\u00e9');
    }
  });
});

describe('FastGet.list: the bytes of a page', () => {
  let server: http.Server;
  let endpoint = '';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      // No EncodingType (a server that ignores encoding-type=url): the key is raw text, "café" in Latin-1.
      res.end(Buffer.concat([Buffer.from(`<?xml version="1.0"?><ListBucketResult ${NS}><KeyCount>1</KeyCount><IsTruncated>false</IsTruncated><Contents><Key>caf`), Buffer.from([0xe9]), Buffer.from('</Key><Size>5</Size></Contents></ListBucketResult>')]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('refuses a page that is not valid UTF-8 instead of listing a key with U+FFFD in it', async () => {
    const provider = new S3Provider({ bucket: 'bkt', endpoint, region: 'eu-west-1' } as never, { type: 'access_key', access_key_id: 'AKIAX', secret_access_key: 's' } as never, { maxSockets: 2, connectTimeoutMs: 2000 });
    try {
      const r = await provider.list({ prefix: '', maxKeys: 10 }).then(
        (p) => p.objects.map((o) => o.key),
        (e: unknown) => e,
      );
      if (Array.isArray(r)) expect(r).not.toContain('caf\uFFFD');
      else expect(r).toMatchObject(rejected);
    } finally {
      provider.close();
    }
  });
});
