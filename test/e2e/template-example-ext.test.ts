import { afterAll, beforeAll, expect, it } from 'vitest';
import { importAll, startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * The path_template examples that start_export's errors give work as written: the fix for an
 * unmatched brace suggests "{index}/{name}{ext}", and that template writes "docs/a.txt" of index "t"
 * as "t/a.txt", not "t/a.txt.txt" (either {name} is the name without its extension, or the example
 * does not add {ext} to a name that already holds it).
 */
let env: S3Env;
let cp: Running;
let connectorId: string;
beforeAll(async () => {
  env = await startS3Env(['tmplbk']);
  await env.s3.put('tmplbk', 'docs/a.txt', 'alpha');
  cp = await startCloudport({ dataDir: tempDir() });
  const c = env.connector('tmplbk', { scopes: ['import', 'export'], export_base_path: 'out/' });
  await importAll(cp, c, 't');
  connectorId = (await cp.ok('list_connectors', {})).connectors[0].id;
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

it('the template the fix suggests does not double the extension', async () => {
  const bad = await cp.call('start_export', { index: 't', connector_id: connectorId, path_template: '{index}/{name', dry_run: true });
  expect(bad.isError).toBe(true);
  const examples = [...String(bad.data.error.fix).matchAll(/"([^"]*\{[^"]*)"/g)].map((m) => m[1]!);
  expect(examples).toContain('{index}/{name}');
  for (const template of examples) {
    const r = await cp.ok('start_export', { index: 't', connector_id: connectorId, path_template: template, dry_run: true });
    for (const s of r.sample as { path: string }[]) expect(s.path, template).not.toMatch(/\.txt\.txt$/);
    expect((r.sample as { path: string }[]).map((s) => s.path)).toContain(template === '{key}' ? 'out/docs/a.txt' : 'out/t/a.txt');
  }
});
