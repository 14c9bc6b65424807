/**
 * What a content is, from its bytes alone, through the real ExtractPool and its worker: Markdown that
 * starts with a tag or a comment stays text, SVG and feeds without a declaration are XML, and binary
 * content is never decoded as Windows-1252 text.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXTRACT_LIMITS, ExtractPool } from '../../src/core/search/extract/pool.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-review-sniff-'));
const pool = new ExtractPool(DEFAULT_EXTRACT_LIMITS, 1);
afterAll(async () => {
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
let n = 0;
async function extract(bytes: Buffer, contentType: string, key: string) {
  const file = path.join(dir, `f${++n}`);
  fs.writeFileSync(file, bytes);
  return pool.extract({ path: file, contentType, key });
}

describe('HTML/XML sniffing', () => {
  // READMEs, PR templates and changelogs often start with "<!-- ... -->" or <p align="center">; through
  // an HTML parser "List<String>" would lose "<String>" and "a <b c" everything up to the next ">".
  it('markdown starting with an HTML comment keeps its words', async () => {
    const md = Buffer.from('<!-- markdownlint-disable -->\n# Title\n\nUse `List<String> items` and `x <b c` here.\n\nLine two\n');
    const r = await extract(md, 'text/markdown', 'README.md');
    expect(r.format).not.toBe('html');
    expect(r.text).toContain('List<String> items');
    expect(r.text).toContain('Line two');
  });

  it('markdown starting with <p align="center"> keeps "if x <y or z> w"', async () => {
    const md = Buffer.from('<p align="center"><img src="logo.png"></p>\n\n# Project\n\nif x <y or z> w then ok\n');
    const r = await extract(md, 'text/markdown', 'README.md');
    expect(r.text).toContain('<y or z>');
  });

  // Most SVGs (icon sets, exported drawings) and many feeds have no "<?xml" declaration.
  it('an SVG without <?xml is extracted as XML, not as its markup', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><title>Home icon</title><path d="M12 2C6.48 2 2 6.48 2 12"/></svg>');
    const r = await extract(svg, 'image/svg+xml', 'home.svg');
    expect(r.text).not.toContain('viewBox');
    expect(r.text).toContain('Home icon');
  });

  it('an RSS feed without <?xml is extracted as XML, not as its markup', async () => {
    const rss = Buffer.from('<rss version="2.0"><channel><title>News</title><item><title>Launch day</title></item></channel></rss>');
    const r = await extract(rss, 'application/rss+xml', 'feed.xml');
    expect(r.text).not.toContain('<channel>');
  });
});

describe('binary content is not read as Windows-1252 text', () => {
  it('a small binary blob without NUL is not "extracted"', async () => {
    const r = await extract(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x93, 0xa7, 0xc3]), 'application/octet-stream', 'key.bin');
    expect(r.status).toBe('unsupported');
  });

  // A self-extracting installer (makeself .run): an ASCII script, then compressed bytes.
  it('an ASCII script followed by a binary payload is not decoded as Windows-1252', async () => {
    const payload = Buffer.from(Array.from({ length: 4000 }, (_, i) => 0x80 + ((i * 37) % 127)));
    const bytes = Buffer.concat([Buffer.from('#!/bin/sh\n' + 'echo installer line\n'.repeat(500)), payload]);
    const r = await extract(bytes, 'application/octet-stream', 'setup.run');
    expect(r.detail ?? '').not.toContain('windows-1252');
  });
});
