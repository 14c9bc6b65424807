import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAll, startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Results give `next_cursor: null` and `next_offset: null` at the end, and agents send null back for an
 * optional argument they mean to leave out: search_index {cursor: null} and read_item {offset: null} are
 * refused with a fix that says to leave the field out (and what the null meant), not "give a string".
 */
let env: S3Env;
let cp: Running;
beforeAll(async () => {
  env = await startS3Env(['docs']);
  await env.s3.put('docs', 'a.txt', 'hello world', { contentType: 'text/plain' });
  cp = await startCloudport({ dataDir: tempDir() });
  await importAll(cp, env.connector('docs'), 'docs');
}, 120_000);
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

const leaveOut = /leave (it|cursor|offset) out|omit/i;

describe('null for an optional argument', () => {
  it('search_index {cursor: null}: the fix says to leave cursor out', async () => {
    const r = await cp.call('search_index', { query: 'hello', cursor: null });
    if (r.isError) {
      expect(r.data.error.field).toBe('cursor');
      expect(r.data.error.fix).toMatch(leaveOut);
    } else expect(r.data.results).toHaveLength(1);
  });

  it('read_item {offset: null}: the fix says to leave offset out, not that a string was given', async () => {
    const r = await cp.call('read_item', { index: 'docs', key: 'a.txt', offset: null });
    if (r.isError) {
      expect(r.data.error.field).toBe('offset');
      expect(r.data.error.fix).not.toContain('not a string');
      expect(r.data.error.fix).toMatch(leaveOut);
    } else expect(r.data.text).toBe('hello world');
  });
});
