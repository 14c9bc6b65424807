import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * An SVG is searched by its text, not by its markup: the CSS of its <style> and the code of its
 * <script> are not words of the image (as for HTML, whose script and style are left out), while its
 * <text> and <title> are.
 */
const svg = '<svg xmlns="http://www.w3.org/2000/svg"><style>.svgstylezz{fill:red}</style><script>svgscriptzz()</script><text x="1">svgwordzz</text><title>svgtitlezz</title></svg>';

describe('SVG style and script are markup, not text', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['pics']);
    await env.s3.put('pics', 'pic.svg', svg, { contentType: 'image/svg+xml' });
    cp = await startCloudport({ dataDir: tempDir() });
    const cid = (await cp.ok('create_connector', env.connector('pics'))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: cid, index: 'pics' })).job_id);
  }, 60_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('finds the SVG by its text and title', async () => {
    expect((await cp.ok('search_index', { query: 'svgwordzz' })).results.map((r: any) => r.key)).toEqual(['pic.svg']);
    expect((await cp.ok('search_index', { query: 'svgtitlezz' })).results.map((r: any) => r.key)).toEqual(['pic.svg']);
  });

  it('does not find it by a class name of its <style> or a call of its <script>', async () => {
    expect((await cp.ok('search_index', { query: 'svgstylezz' })).results).toEqual([]);
    expect((await cp.ok('search_index', { query: 'svgscriptzz' })).results).toEqual([]);
  });
});
