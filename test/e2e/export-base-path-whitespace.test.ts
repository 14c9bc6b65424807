import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * export_base_path is a folder typed by a person or an agent: spaces around it or around one of its
 * segments ("  out  ", "out/ ", " /out") are a typing mistake, never meant as folders named "  out  "
 * or " ". They are either trimmed (the connector shows "out/") or refused with a config_invalid on
 * export_base_path that says how to write it, as a leading "/" or "//" is; they are never kept as is,
 * which would make every export land in a folder whose name differs from what the agent sees and says.
 * A path_template typed with such spaces (" {key}", "{index} /{key}") is refused or trimmed the same way.
 */
let env: S3Env;
let cp: Running;

beforeAll(async () => {
  env = await startS3Env(['src', 'dst']);
  await env.s3.put('src', 'd/a.txt', 'hello');
  cp = await startCloudport({ dataDir: tempDir() });
  const src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i' })).job_id);
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('export_base_path with spaces around segments', () => {
  for (const base of ['  out  ', 'out/ ', ' /out']) {
    it(JSON.stringify(base), async () => {
      const r = await cp.call('create_connector', { ...env.connector('dst'), scopes: ['export'], export_base_path: base });
      if (r.isError) {
        expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: 'export_base_path' });
      } else {
        const kept: string = r.data.connector.export_base_path;
        for (const seg of kept.split('/').slice(0, -1)) expect(seg, `segment of ${JSON.stringify(kept)}`).toBe(seg.trim());
        expect(kept.split('/').slice(0, -1).every((s) => s.length > 0)).toBe(true);
      }
    });
  }
});

describe('path_template with spaces around a segment', () => {
  for (const path_template of [' {key}', '{index} /{key}']) {
    it(JSON.stringify(path_template), async () => {
      const dst = (await cp.ok('create_connector', { ...env.connector('dst'), scopes: ['export'], export_base_path: 'out' })).connector.id;
      const r = await cp.call('start_export', { index: 'i', connector_id: dst, path_template, dry_run: true });
      if (r.isError) {
        expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: 'path_template' });
      } else {
        for (const { path } of r.data.sample as { path: string }[]) {
          for (const seg of path.split('/')) expect(seg, `segment of ${JSON.stringify(path)}`).toBe(seg.trim());
        }
      }
    });
  }
});
