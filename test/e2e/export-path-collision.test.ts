import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allFiles, startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * path_template "flat/{name}" names two items in different folders with the same last segment alike: the
 * dry run and the job refuse the second (saying its path is the first's and to use {key}), so two items
 * never both count as "exported" to one target path while the bucket holds one of the two contents,
 * however many items lie between them.
 */
let env: S3Env;
let cp: Running;
let dst: string;

beforeAll(async () => {
  env = await startS3Env(['src', 'dst']);
  await env.s3.put('src', 'a/x.txt', 'content of a', { contentType: 'text/plain' });
  await env.s3.put('src', 'b/x.txt', 'content of b', { contentType: 'text/plain' });
  // Under m/: 1,001 items under m/a/ (more than a listing page), then m/b/k0000.txt, whose name is m/a/k0000.txt's.
  const keys = [...Array.from({ length: 1001 }, (_, i) => `m/a/k${String(i).padStart(4, '0')}.txt`), 'm/b/k0000.txt'];
  for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => env.s3.put('src', k, `content of ${k}`, { contentType: 'text/plain' })));
  cp = await startCloudport({ dataDir: tempDir() });
  const src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
  dst = (await cp.ok('create_connector', { ...env.connector('dst'), scopes: ['export'], export_base_path: 'out' })).connector.id;
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i', prefix: 'a/' })).job_id);
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i', prefix: 'b/' })).job_id);
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'many', prefix: 'm/' })).job_id);
}, 120_000);
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('export path collisions', () => {
  it('two items never both count as "exported" to one target path', async () => {
    const dry = await cp.ok('start_export', { index: 'i', connector_id: dst, path_template: 'flat/{name}', dry_run: true });
    expect(dry.sample).toEqual([{ key: 'a/x.txt', path: 'out/flat/x.txt' }]);
    expect(dry.failed_files).toEqual([{ key: 'b/x.txt', error: expect.stringContaining('{key}') }]);
    const r = await cp.ok('start_export', { index: 'i', connector_id: dst, path_template: 'flat/{name}', overwrite: 'always' });
    await waitForJob(cp, r.job_id);
    const s3 = (env.s3 as unknown as { client(): S3Client }).client();
    const held = await (await s3.send(new GetObjectCommand({ Bucket: 'dst', Key: 'out/flat/x.txt' }))).Body!.transformToString();
    expect(held).toBe('content of a');
    const exported = (await allFiles(cp, r.job_id)).filter((f) => f.status === 'exported') as unknown as { key: string; path: string }[];
    expect(new Set(exported.map((f) => f.path)).size).toBe(exported.length);
    // An import's file states are refused on an export, with the states it has.
    const wrong = await cp.call('import_status', { job_id: r.job_id, files_status: 'deduped' });
    expect(wrong.data.error).toMatchObject({ kind: 'config_invalid', field: 'files_status', fix: expect.stringContaining('"exported"') });
  });

  it('the later of two items more than a listing page apart fails too', async () => {
    const r = await cp.ok('start_export', { index: 'many', connector_id: dst, path_template: 'flat2/{name}', overwrite: 'always' });
    await waitForJob(cp, r.job_id);
    const s3 = (env.s3 as unknown as { client(): S3Client }).client();
    const held = await (await s3.send(new GetObjectCommand({ Bucket: 'dst', Key: 'out/flat2/k0000.txt' }))).Body!.transformToString();
    expect(held).toBe('content of m/a/k0000.txt');
    const files = await allFiles(cp, r.job_id);
    expect(files.filter((f) => f.status === 'exported')).toHaveLength(1001);
    expect(files.filter((f) => f.status === 'failed')).toEqual([expect.objectContaining({ key: 'm/b/k0000.txt', error: expect.stringContaining("is also m/a/k0000.txt's") })]);
  }, 120_000);
});
