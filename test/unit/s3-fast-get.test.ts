import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Provider } from '../../src/providers/s3/provider.js';
import { encodeKeyPath, parseListV2 } from '../../src/providers/s3/fast-get.js';

/**
 * The lean GetObject must send what the SDK sends, signed so that S3 accepts it. A loopback server
 * records each request and checks its SigV4 signature with an implementation of its own (written
 * from the AWS documentation, sharing no code with the SDK's signer).
 */

const SECRET = 'fast-get-secret-value';
const ACCESS = 'AKIAFASTGET000000000';

const hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const hmac = (k: Buffer | string, d: string) => createHmac('sha256', k).update(d).digest();

/** Checks an AWS4-HMAC-SHA256 Authorization header against the request as received. */
function verifySigV4(req: http.IncomingMessage, secret: string): boolean {
  const auth = req.headers.authorization ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return false;
  const [, , date, region, service, signedHeaders, signature] = m;
  const [path, query = ''] = (req.url ?? '').split('?');
  const names = signedHeaders!.split(';');
  const headerValue = (n: string) => {
    const v = req.headers[n];
    return (Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/\s+/g, ' ');
  };
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .sort()
    .join('&');
  const canonical = [req.method, path, canonicalQuery, names.map((n) => `${n}:${headerValue(n)}\n`).join(''), signedHeaders, headerValue('x-amz-content-sha256')].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', headerValue('x-amz-date'), scope, hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex') === signature;
}

interface Seen {
  url: string;
  valid: boolean;
  headers: http.IncomingHttpHeaders;
}

describe('S3 lean GetObject', () => {
  const seen: Seen[] = [];
  let server: http.Server;
  let endpoint = '';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const valid = verifySigV4(req, SECRET);
      seen.push({ url: req.url ?? '', valid, headers: req.headers });
      if (!valid) {
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>');
        return;
      }
      if ((req.url ?? '').includes('list-type=2')) {
        // A page as S3 writes it: URL-encoded keys (encoding-type=url), an ETag with entities, a folder, a
        // token, and a KeyCount that counts the folder too.
        const q = new URLSearchParams((req.url ?? '').split('?')[1]);
        res.writeHead(200, { 'content-type': 'application/xml' });
        if (q.get('prefix') === 'broken/') {
          // Truncated, but without the token the next page needs: read as the last page, the listing would end early.
          res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult ${'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'}><Name>bkt</Name><KeyCount>1</KeyCount><IsTruncated>true</IsTruncated><Contents><Key>broken/a</Key><Size>1</Size></Contents></ListBucketResult>`);
          return;
        }
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><Prefix>${q.get('prefix') ?? ''}</Prefix>` +
            `<KeyCount>3</KeyCount><MaxKeys>${q.get('max-keys')}</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>` +
            `<Contents><Key>a/b+c%26d%3Ce%C3%BC</Key><LastModified>2026-11-30T10:00:00.000Z</LastModified><ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag><Size>42</Size><StorageClass>GLACIER</StorageClass></Contents>` +
            `<Contents><Key>plain</Key><LastModified>2026-11-30T10:00:01.000Z</LastModified><ETag>&quot;abc-2&quot;</ETag><Size>7</Size><StorageClass>STANDARD</StorageClass></Contents>` +
            `<CommonPrefixes><Prefix>dir%20one/</Prefix></CommonPrefixes><NextContinuationToken>tok&amp;en/+=</NextContinuationToken></ListBucketResult>`,
        );
        return;
      }
      const body = Buffer.from(`body of ${decodeURIComponent((req.url ?? '').replace(/\?x-id=GetObject$/, ''))}`);
      res.writeHead(200, { 'content-length': body.length, etag: `"${createHash('md5').update(body).digest('hex')}"`, 'content-type': 'text/plain' });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const keys = ['plain.txt', 'a/b c.txt', 'ünï/cødé ✓.bin', 'x+y=z&w;v,u', "it's (1)*!~.txt", '../..//x/./y', '%41%2F', 'q?a=b#frag', ' lead and trail '];

  it('sends the same path as the SDK for hostile keys, signed so that an independent SigV4 check accepts it; a wrong secret is refused', async () => {
    const ctx = { maxSockets: 4, connectTimeoutMs: 2000 };
    const provider = new S3Provider({ bucket: 'bkt', endpoint, region: 'eu-west-1' } as never, { type: 'access_key', access_key_id: ACCESS, secret_access_key: SECRET } as never, ctx);
    const sdk = new S3Client({ endpoint, region: 'eu-west-1', forcePathStyle: true, credentials: { accessKeyId: ACCESS, secretAccessKey: SECRET }, maxAttempts: 1 });
    try {
      for (const key of keys) {
        seen.length = 0;
        const r = await provider.read(key);
        const text = Buffer.concat(await r.body.toArray()).toString();
        expect(text).toBe(`body of /bkt/${key}`);
        expect(r.checksums?.md5).toBe(createHash('md5').update(text).digest('base64'));
        const out = await sdk.send(new GetObjectCommand({ Bucket: 'bkt', Key: key }));
        await out.Body!.transformToByteArray();
        expect(seen.map((s) => s.valid)).toEqual([true, true]);
        expect(seen[0]!.url).toBe(seen[1]!.url.replace(/\?x-id=GetObject$/, '')); // byte-for-byte the SDK's path (it adds ?x-id=GetObject)
        expect(seen[0]!.url).toBe(`/bkt/${encodeKeyPath(key)}`);
        expect(seen[0]!.url).toMatch(/^[A-Za-z0-9\-._~/%]+$/); // only unreserved characters and escapes: one canonical form
      }
      // A range and an If-Match are signed too.
      seen.length = 0;
      const part = await provider.read('a/b c.txt', { offset: 2, ifVersion: 'abc:10' });
      part.body.resume();
      expect(seen[0]!.valid).toBe(true);
      expect(seen[0]!.headers.range).toBe('bytes=2-');
      expect(seen[0]!.headers['if-match']).toBe('"abc"');
      // Listing: the query is signed too (an independent check accepts it) and the page is read back exactly.
      seen.length = 0;
      const page = await provider.list({ prefix: 'a b/ü', delimiter: '/', token: 'prev&token+/=', maxKeys: 500 });
      expect(seen[0]!.valid).toBe(true);
      expect(new URLSearchParams(seen[0]!.url.split('?')[1]).get('continuation-token')).toBe('prev&token+/=');
      expect(page).toEqual({
        objects: [
          { key: 'a/b c&d<eü', size: 42, last_modified: '2026-11-30T10:00:00.000Z', etag: '0123456789abcdef0123456789abcdef', version: '0123456789abcdef0123456789abcdef:42', storage_class: 'GLACIER' },
          { key: 'plain', size: 7, last_modified: '2026-11-30T10:00:01.000Z', etag: 'abc-2', version: 'abc-2:7' },
        ],
        folders: ['dir one/'],
        nextToken: 'tok&en/+=',
      });
      // A page that cannot be trusted fails the listing (temporary: the caller retries), never shortens it.
      await expect(provider.list({ prefix: 'broken/', maxKeys: 1000 })).rejects.toMatchObject({ kind: 'unexpected', temporary: true, message: expect.stringMatching(/NextContinuationToken/) });
      // The wrong secret: the server's own check refuses it, and the error is the SDK's mapping.
      const wrong = new S3Provider({ bucket: 'bkt', endpoint, region: 'eu-west-1' } as never, { type: 'access_key', access_key_id: ACCESS, secret_access_key: 'not-it' } as never, ctx);
      await expect(wrong.read('plain.txt')).rejects.toMatchObject({ kind: 'permission_denied', field: 'credentials.secret_access_key' });
      wrong.close();
    } finally {
      provider.close();
      sdk.destroy();
    }
  });
});

/**
 * ListObjectsV2 pages written by hand: every shape a real S3-compatible server may send must be read
 * exactly, and a page whose parts disagree (or that is not a listing at all) must fail loudly, never
 * become a shorter listing that an import would complete from.
 */
describe('ListObjectsV2 page parser', () => {
  const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
  const entry = (key: string, size: string | null = '5') => `<Contents><Key>${key}</Key><LastModified>2026-11-30T10:00:00.000Z</LastModified><ETag>&quot;e&quot;</ETag>${size === null ? '' : `<Size>${size}</Size>`}<StorageClass>STANDARD</StorageClass></Contents>`;
  const page = (body: string, { count, truncated = 'false', token }: { count?: number; truncated?: string; token?: string } = {}) =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult ${NS}><Name>bkt</Name><Prefix></Prefix>${count === undefined ? '' : `<KeyCount>${count}</KeyCount>`}<MaxKeys>1000</MaxKeys><IsTruncated>${truncated}</IsTruncated>${token ? `<NextContinuationToken>${token}</NextContinuationToken>` : ''}${body}</ListBucketResult>`;
  const rejected = { kind: 'unexpected', temporary: true };
  const keys = (xml: string) => parseListV2(xml).objects.map((o) => o.key);

  it('reads entries whose tags carry whitespace or a namespace prefix', () => {
    expect(keys(page(`<Contents ><Key>spaced</Key><Size>1</Size></Contents >`, { count: 1 }))).toEqual(['spaced']);
    const prefixed = `<?xml version="1.0"?><s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:KeyCount>2</s3:KeyCount><s3:IsTruncated>false</s3:IsTruncated><s3:Contents><s3:Key>ns</s3:Key><s3:Size>3</s3:Size></s3:Contents><s3:CommonPrefixes><s3:Prefix>dir/</s3:Prefix></s3:CommonPrefixes></s3:ListBucketResult>`;
    expect(parseListV2(prefixed)).toEqual({ objects: [{ key: 'ns', size: 3, lastModified: null, etag: null, storageClass: null }], prefixes: ['dir/'], nextToken: null });
  });

  it('reads keys with entities, character references, unicode, CDATA and comments exactly', () => {
    const xml = page(
      [
        entry('a&amp;b&lt;c&gt;d&quot;e&apos;f'),
        entry('&#x1F600;-&#233;-&#13;-&#x9;'),
        entry('ünï/cødé ✓ 日本'),
        entry('<![CDATA[raw <tag> & &amp; stays]]>'),
        entry('be<!-- a comment -->fore'),
        entry(' lead and trail '),
        entry('1e3'),
      ].join('\n  '),
      { count: 7 },
    );
    expect(keys(xml)).toEqual(['a&b<c>d"e\'f', '😀-é-\r-\t', 'ünï/cødé ✓ 日本', 'raw <tag> & &amp; stays', 'before', ' lead and trail ', '1e3']);
    expect(parseListV2(xml).objects[0]).toEqual({ key: 'a&b<c>d"e\'f', size: 5, lastModified: '2026-11-30T10:00:00.000Z', etag: '"e"', storageClass: 'STANDARD' });
  });

  it('decodes URL-encoded keys and prefixes (encoding-type=url) and keeps the continuation token as sent', () => {
    const xml = page(`<EncodingType>url</EncodingType>${entry('a/b+c%26d%3Ce%C3%BC')}<CommonPrefixes><Prefix>dir%20one/</Prefix></CommonPrefixes>`, { count: 2, truncated: 'true', token: 'tok&amp;en/+=' });
    expect(parseListV2(xml)).toMatchObject({ objects: [{ key: 'a/b c&d<eü' }], prefixes: ['dir one/'], nextToken: 'tok&en/+=' });
    expect(() => parseListV2(page(`<EncodingType>url</EncodingType>${entry('bad%E0%A4%A')}`, { count: 1 }))).toThrow(expect.objectContaining(rejected));
  });

  it('fails a page whose KeyCount disagrees with its entries (Contents + CommonPrefixes)', () => {
    expect(parseListV2(page(`${entry('a')}<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>`, { count: 2 })).objects).toHaveLength(1);
    expect(() => parseListV2(page(entry('a'), { count: 3 }))).toThrow(expect.objectContaining({ ...rejected, message: expect.stringMatching(/KeyCount 3.*1 entr/) }));
    // An entry the parser cannot see as one (a misspelt tag) is caught by the count too.
    expect(() => parseListV2(page(`${entry('a')}<Content><Key>b</Key><Size>1</Size></Content>`, { count: 2 }))).toThrow(expect.objectContaining(rejected));
  });

  it('fails a truncated page without a continuation token, and an IsTruncated that is neither true nor false', () => {
    expect(parseListV2(page(entry('a'), { count: 1, truncated: 'true', token: 'next' })).nextToken).toBe('next');
    expect(() => parseListV2(page(entry('a'), { count: 1, truncated: 'true' }))).toThrow(expect.objectContaining({ ...rejected, message: expect.stringMatching(/NextContinuationToken/) }));
    expect(() => parseListV2(page(entry('a'), { count: 1, truncated: 'yes' }))).toThrow(expect.objectContaining(rejected));
  });

  it('fails an entry without a Key or without a numeric Size', () => {
    expect(() => parseListV2(page(entry('a', null), { count: 1 }))).toThrow(expect.objectContaining({ ...rejected, message: expect.stringMatching(/"a".*Size/) }));
    expect(() => parseListV2(page(entry('a', '12kb'), { count: 1 }))).toThrow(expect.objectContaining(rejected));
    expect(() => parseListV2(page(entry('a', ''), { count: 1 }))).toThrow(expect.objectContaining(rejected));
    expect(() => parseListV2(page('<Contents><Size>1</Size></Contents>', { count: 1 }))).toThrow(expect.objectContaining({ ...rejected, message: expect.stringMatching(/without a Key/) }));
    expect(() => parseListV2(page('<Contents><Key>a</Key><Key>b</Key><Size>1</Size></Contents>', { count: 1 }))).toThrow(expect.objectContaining(rejected));
    expect(() => parseListV2(page('<CommonPrefixes></CommonPrefixes>', { count: 1 }))).toThrow(expect.objectContaining(rejected));
  });

  it('reads element names that are names of object properties as names only', () => {
    const xml = page(`${entry('k')}<__proto__><Key>x</Key></__proto__><constructor>c</constructor><toString>t</toString>`, { count: 1 });
    expect(parseListV2(xml).objects).toEqual([{ key: 'k', size: 5, lastModified: '2026-11-30T10:00:00.000Z', etag: '"e"', storageClass: 'STANDARD' }]);
    expect(({} as Record<string, unknown>).Key).toBeUndefined();
    // A page whose Contents is named through a prototype's property is still no listing.
    expect(() => parseListV2('<?xml version="1.0"?><__proto__><Contents><Key>a</Key><Size>1</Size></Contents></__proto__>')).toThrow(expect.objectContaining(rejected));
  });

  it('fails what is not a well-formed ListBucketResult', () => {
    for (const xml of [
      '<html><body>S3 console</body></html>',
      '<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>',
      page(entry('a')).replace('</ListBucketResult>', ''),
      page(entry('a&nbsp;b'), { count: 1 }),
      'not xml at all',
      '',
      // Well-formedness: a bare "&", a reference to no character, an entity a DTD declares (a listing
      // has none to honour), a closing tag that does not match, a second root, text after the root.
      page(entry('a & b'), { count: 1 }),
      page(entry('a&#0;b'), { count: 1 }),
      `<?xml version="1.0"?><!DOCTYPE ListBucketResult [<!ENTITY e "evil">]>${page(entry('&e;'), { count: 1 }).replace(/^<\?xml[^>]*>/, '')}`,
      page('<Contents><Key>a</Size><Size>1</Key></Contents>', { count: 1 }),
      page(entry('a'), { count: 1 }) + '<ListBucketResult/>',
      page(entry('a'), { count: 1 }) + 'trailing text',
      page('<Contents><Key><![CDATA[open</Key><Size>1</Size></Contents>', { count: 1 }),
    ]) {
      expect(() => parseListV2(xml), xml).toThrow(expect.objectContaining(rejected));
    }
  });
});
