/**
 * Refusals of arguments that do not go together, or of a name or template that cannot be used, say what
 * to send instead: each error's text is "<kind>: <message> [field] Fix: …" (README), with the fix in the
 * structured error too. A taken connector name reads the same from update_connector as from create_connector.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

describe('refusals carry a fix', () => {
  let env: S3Env;
  let cp: Running;
  let conn: string;
  let job: string;
  let other: string;
  beforeAll(async () => {
    env = await startS3Env(['errors-fix']);
    await env.s3.put('errors-fix', 'd/a.md', 'a');
    cp = await startCloudport({ dataDir: tempDir() });
    conn = (await cp.ok('create_connector', env.connector('errors-fix', { scopes: ['import', 'export'], export_base_path: 'out/' }))).connector.id;
    job = (await cp.ok('start_import', { connector_id: conn, index: 'fx' })).job_id;
    await waitForJob(cp, job);
    await cp.ok('create_connector', env.connector('errors-fix', { name: 'taken' }));
    await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'fx', schedule: '1d', name: 'taken' });
    other = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'fx', schedule: '1d', name: 'other' })).automation.id;
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  const cases: [string, string, () => Record<string, unknown>, string, RegExp][] = [
    ['start_import retry_of with prefix', 'start_import', () => ({ retry_of: job, prefix: 'd/' }), 'retry_of', /retry_of: "imp_[^"]+"\} alone/],
    ['start_export keys and prefix', 'start_export', () => ({ index: 'fx', connector_id: conn, keys: ['d/a.md'], prefix: 'd/' }), 'keys', /Drop prefix .* or drop keys/],
    ['start_export unmatched brace', 'start_export', () => ({ index: 'fx', connector_id: conn, path_template: '{key' }), 'path_template', /Close every placeholder/],
    ['update_connector to a taken name', 'update_connector', () => ({ connector_id: conn, name: 'taken' }), 'name', /Choose another name/],
    ['create_automation export with pattern', 'create_automation', () => ({ kind: 'export', connector_id: conn, index: 'fx', schedule: '1d', pattern: '*.md' }), 'pattern', /Drop pattern/],
    ['create_automation export with import_mode', 'create_automation', () => ({ kind: 'export', connector_id: conn, index: 'fx', schedule: '1d', import_mode: 'all' }), 'import_mode', /Drop import_mode/],
    ['create_automation with a name of spaces', 'create_automation', () => ({ kind: 'import', connector_id: conn, index: 'fx', schedule: '1d', name: '   ' }), 'name', /not only spaces/],
    ['update_automation to a taken name', 'update_automation', () => ({ automation_id: other, name: 'taken' }), 'name', /Give another name/],
    ['create_automation with a bidi character in its name', 'create_automation', () => ({ kind: 'import', connector_id: conn, index: 'fx', schedule: '1d', name: '\u202eotua' }), 'name', /visible characters only/],
    ['create_connector with a control character in its name', 'create_connector', () => env.connector('errors-fix', { name: 'a\tb' }), 'name', /Remove tabs/],
  ];
  for (const [what, tool, args, field, fix] of cases) {
    it(`${what}: [${field}] and a Fix: that says what to send`, async () => {
      const r = await cp.call(tool, args());
      expect(r.isError, r.text).toBe(true);
      expect(r.data.error.field, r.text).toBe(field);
      expect(r.text).toContain(`[${field}]`);
      expect(r.text).toMatch(/Fix: \S/);
      expect(r.data.error.fix, r.text).toMatch(fix);
    });
  }

  it('create_connector and update_connector give a taken name the same fix', async () => {
    const created = await cp.call('create_connector', env.connector('errors-fix', { name: 'taken' }));
    const updated = await cp.call('update_connector', { connector_id: conn, name: 'taken' });
    expect(created.data.error).toMatchObject({ kind: 'conflict', field: 'name' });
    expect(updated.data.error).toEqual(created.data.error);
  });
});
