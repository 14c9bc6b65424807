import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * README "What an agent conversation looks like" quotes start_import's not_found answer for a prefix
 * of 1,204 PDFs as the server prints it: the count comes from one listing page (`holds 1000+ objects`).
 */
describe('README no-match example', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['readme-nm']);
    for (let i = 0; i < 1204; i++) await env.s3.put('readme-nm', `contracts/2025/c${i}.pdf`, `x${i}`);
    cp = await startCloudport({ dataDir: tempDir() });
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('the count the README quotes is the count the server prints for 1,204 objects', async () => {
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const quoted = /Prefix "contracts\/" holds ([^ ]+) objects/.exec(readme)![1];
    const cid = (await cp.ok('create_connector', env.connector('readme-nm'))).connector.id;
    const r = await cp.call('start_import', { connector_id: cid, index: 'contracts', prefix: 'contracts/', pattern: 'contracts/**/*.pdf' });
    expect(r.isError).toBe(true);
    const printed = /Prefix "contracts\/" holds ([^ ]+) objects/.exec(r.text)?.[1];
    expect(printed, r.text).toBe(quoted);
  });
});
