import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * What an agent that reads only a tool result's text learns when a call selects nothing or goes
 * wrong: every error names its field and says how to fix it, and nothing succeeds silently.
 */
describe('agent-facing errors over stdio against S3 (fauxqs)', () => {
  let env: S3Env;
  let cp: Running;
  let dataDir: string;
  let conn: string;

  beforeAll(async () => {
    env = await startS3Env(['nomatch', 'slow', 'order']);
    for (const k of ['docs/report.PDF', 'docs/notes.txt', 'docs/sub/deep.pdf', 'other/x.txt']) await env.s3.put('nomatch', k, `content of ${k}\n`);
    dataDir = tempDir();
    // Debug level: the test reads the log to check where stack traces go.
    cp = await startCloudport({ dataDir, env: { CLOUDPORT_LOG_LEVEL: 'debug' } });
    conn = (await cp.ok('create_connector', env.connector('nomatch', { scopes: ['import', 'export'] }))).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  const jobCount = async () => (await cp.ok('list_imports', { limit: 1000 })).imports.length;

  it('start_import that matches nothing answers not_found on the field that selected nothing, with hints from the listing, and creates no job', async () => {
    const before = await jobCount();

    // The prefix repeated in the pattern: patterns match the key after the prefix (filter.ts).
    const repeated = await cp.call('start_import', { connector_id: conn, index: 'nm', prefix: 'docs/', pattern: 'docs/*.txt' });
    expect(repeated.isError).toBe(true);
    expect(repeated.data.error).toMatchObject({ kind: 'not_found', field: 'pattern', temporary: false });
    expect(repeated.data.error.message).toMatch(/^no object matched prefix "docs\/", pattern "docs\/\*\.txt"/);
    expect(repeated.data.error.fix).toContain('use pattern "*.txt"');
    expect(repeated.data.error.fix).toContain('Prefix "docs/" holds 3 objects');
    // The text alone carries it all.
    expect(repeated.text).toContain('[pattern]');
    expect(repeated.text).toContain('use pattern "*.txt"');

    // Case, and "*" that does not cross "/".
    const cased = await cp.call('start_import', { connector_id: conn, index: 'nm', prefix: 'docs/', pattern: '*.pdf' });
    expect(cased.data.error).toMatchObject({ kind: 'not_found', field: 'pattern' });
    expect(cased.data.error.fix).toMatch(/case-sensitive: 1 key matches if case is ignored, e\.g\. "docs\/report\.PDF"/);
    expect(cased.data.error.fix).toMatch(/"\*" does not cross "\/": 1 key in subfolders matches pattern "\*\*\/\*\.pdf", e\.g\. "docs\/sub\/deep\.pdf"/);

    // A leading "/" in the prefix, a prefix in the wrong case, a prefix that holds nothing.
    const slash = await cp.call('start_import', { connector_id: conn, index: 'nm', prefix: '/docs/' });
    expect(slash.data.error).toMatchObject({ kind: 'not_found', field: 'prefix' });
    expect(slash.data.error.fix).toMatch(/Keys do not start with "\/": use prefix "docs\/", which holds 3 objects/);
    const upper = await cp.call('start_import', { connector_id: conn, index: 'nm', prefix: 'Docs/' });
    expect(upper.data.error).toMatchObject({ kind: 'not_found', field: 'prefix' });
    expect(upper.data.error.fix).toContain('Prefixes are case-sensitive: "docs/" exists');
    const empty = await cp.call('start_import', { connector_id: conn, index: 'nm', prefix: 'nothing/' });
    expect(empty.data.error).toMatchObject({ kind: 'not_found', field: 'prefix' });
    expect(empty.data.error.fix).toContain('Nothing starts with "nothing/"; at the top of the bucket there are "docs/", "other/"');

    // A filter that left every match out is named as the field.
    const big = await cp.call('start_import', { connector_id: conn, index: 'nm', prefix: 'docs/', pattern: '*.txt', min_size: 1_000_000 });
    expect(big.data.error).toMatchObject({ kind: 'not_found', field: 'min_size' });
    expect(big.data.error.fix).toContain('1 object matches the pattern, but min_size left out 1');

    expect(await jobCount()).toBe(before);
  });

  it('a dry run that matches nothing previews: no error, no job, the hints in `hint` and in the text', async () => {
    const r = await cp.call('start_import', { connector_id: conn, index: 'nm', prefix: 'docs/', pattern: 'docs/*.txt', dry_run: true });
    expect(r.isError).toBe(false);
    expect(r.data).toMatchObject({ job_id: null, accepted: 0, listing_complete: true });
    expect(r.data.hint).toContain('use pattern "*.txt"');
    expect(r.text).toContain('no object matched');
  });

  it('new_only where every match is unchanged is a success with skipped counts, not "no match"', async () => {
    const first = await cp.ok('start_import', { connector_id: conn, index: 'nm', prefix: 'docs/', pattern: '*.txt' });
    expect((await waitForJob(cp, first.job_id)).status).toBe('completed');
    const again = await cp.call('start_import', { connector_id: conn, index: 'nm', prefix: 'docs/', pattern: '*.txt', import_mode: 'new_only' });
    expect(again.isError).toBe(false);
    expect(again.data).toMatchObject({ accepted: 0, skipped: 1 });
    expect(again.data.hint).toBeUndefined();
    const s = await waitForJob(cp, again.data.job_id);
    expect(s).toMatchObject({ status: 'completed', reason: null, counts: { skipped: 1 } });
  });

  it('browse_connector with no match answers a hint (not an error)', async () => {
    const r = await cp.call('browse_connector', { connector_id: conn, prefix: 'docs/', pattern: '*.pdf' });
    expect(r.isError).toBe(false);
    expect(r.data.matched).toBe(0);
    expect(r.data.hint).toContain('Matching is case-sensitive');
    expect(r.text).toContain('Matching is case-sensitive');
    const found = await cp.ok('browse_connector', { connector_id: conn, prefix: 'docs/', pattern: '*.txt' });
    expect(found.hint).toBeUndefined();
  });

  it('start_export with a prefix that selects no item answers not_found on prefix with what the index holds', async () => {
    const r = await cp.call('start_export', { connector_id: conn, index: 'nm', prefix: 'Docs/' });
    expect(r.data.error).toMatchObject({ kind: 'not_found', field: 'prefix' });
    expect(r.data.error.message).toBe('no item of index "nm" has a key starting with "Docs/"');
    expect(r.data.error.fix).toContain('Prefixes are case-sensitive: "docs/notes.txt"');
    expect(r.data.error.fix).toContain('Index "nm" holds 1 item');
    const dry = await cp.ok('start_export', { connector_id: conn, index: 'nm', prefix: '/docs/', dry_run: true });
    expect(dry.hint).toContain('Keys do not start with "/": use prefix "docs/"');
  });

  it('an automation run that matches nothing never errors: its job completes with the reason', async () => {
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'auto', prefix: 'docs/', pattern: '*.csv', schedule: '1d' })).automation;
    const run = await cp.call('run_automation_now', { automation_id: a.id });
    expect(run.isError).toBe(false);
    const s = await waitForJob(cp, run.data.job_id);
    expect(s.status).toBe('completed');
    expect(s.reason).toMatch(/^no object matched prefix "docs\/", pattern "\*\.csv"\. .*Prefix "docs\/" holds 3 objects/);
    const c = (await cp.ok('get_connector', { connector_id: conn })).connector;
    expect(c).toMatchObject({ status: 'ACTIVE', consecutive_failures: 0 });
  });

  it('when the listing continues in the background and ends with no match, the job fails with the reason and hints; the connector stays healthy', async () => {
    for (let i = 0; i < 1001; i++) await env.s3.put('slow', `bg/k${String(i).padStart(4, '0')}.txt`, 'x');
    const c = (await cp.ok('create_connector', env.connector('slow'))).connector.id;
    // The first listing page takes longer than start_import's first listing window: the rest is listed in the background.
    env.proxy.addFault({ match: { op: 'ListObjects' }, times: 1, action: { type: 'before', run: () => sleep(2500) } });
    const start = await cp.call('start_import', { connector_id: c, index: 'slow', prefix: 'bg/', pattern: '*.pdf' });
    expect(start.isError).toBe(false);
    expect(start.data).toMatchObject({ accepted: 0, listing_complete: false });
    const s = await waitForJob(cp, start.data.job_id);
    expect(s.status).toBe('failed');
    expect(s.reason).toMatch(/^no object matched prefix "bg\/", pattern "\*\.pdf"\. Prefix "bg\/" holds 1000\+ objects, e\.g\. "bg\/k0000\.txt"/);
    const text = (await cp.call('import_status', { job_id: start.data.job_id })).text;
    expect(text).toContain('reason: no object matched');
    const conn2 = (await cp.ok('get_connector', { connector_id: c })).connector;
    expect(conn2).toMatchObject({ status: 'ACTIVE', consecutive_failures: 0 });
  });

  it('schema errors carry a fix: numeric ranges, allowed values, what a required field wants', async () => {
    const big = await cp.call('browse_connector', { connector_id: conn, page_size: 5000 });
    expect(big.data.error).toMatchObject({ kind: 'config_invalid', field: 'page_size', fix: 'Give a value from 1 to 1000.' });
    expect(big.text).toContain('Fix: Give a value from 1 to 1000.');
    const mode = await cp.call('start_import', { connector_id: conn, index: 'x', import_mode: 'newest' });
    expect(mode.data.error).toMatchObject({ field: 'import_mode', fix: 'Use one of: "all", "new_only".' });
    const missing = await cp.call('import_status', {});
    expect(missing.data.error).toMatchObject({ field: 'job_id', message: 'job_id: required' });
    expect(missing.data.error.fix).toMatch(/^Give job_id: a string \(list_imports shows the jobs\)/);
    const type = await cp.call('list_imports', { limit: '10' });
    expect(type.data.error).toMatchObject({ field: 'limit', fix: 'Give limit as a number (a JSON number, not a string).' });
    expect((await cp.call('list_imports', { limit: true })).data.error.fix).toBe('Give limit as a number (a JSON number, not a boolean).');
    expect((await cp.call('search_index', { index: null, query: 'x' })).data.error).toMatchObject({ field: 'index', fix: 'Leave index out rather than null.' });
    expect((await cp.call('import_status', { job_id: 'imp_x', cursor: 'c' })).data.error).toMatchObject({ kind: 'config_invalid', field: 'cursor' });
    // Each other field at fault is named once, however many issues zod reports for it.
    const also = await cp.call('create_connector', { name: 'x', provider: 's3', bucket: 'bbbb', scopes: 'import', import_mode: 3 });
    expect(also.data.error.fix).toMatch(/Also: scopes invalid; import_mode invalid\.$/);
    const emptyKeys = await cp.call('start_import', { connector_id: conn, index: 'x', keys: [] });
    expect(emptyKeys.data.error).toMatchObject({ field: 'keys' });
    expect(emptyKeys.data.error.fix).toBe('Give at least 1 item(s), or leave keys out.');
  });

  it('every not_found names its field', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['get_connector', { connector_id: 'conn_missing' }, 'connector_id'],
      ['import_status', { job_id: 'imp_missing' }, 'job_id'],
      ['cancel_import', { job_id: 'imp_missing' }, 'job_id'],
      ['start_import', { retry_of: 'imp_missing' }, 'retry_of'],
      ['list_index_items', { index: 'no-such-index' }, 'index'],
      ['read_item', { index: 'nm', key: 'no/such/key' }, 'key'],
      ['delete_automation', { automation_id: 'auto_missing' }, 'automation_id'],
      // A filter naming what is not there is a misspelled id, not an empty list.
      ['list_imports', { automation_id: 'auto_missing' }, 'automation_id'],
      ['list_imports', { connector_id: 'conn_missing' }, 'connector_id'],
      ['list_automations', { connector_id: 'conn_missing' }, 'connector_id'],
      ['start_export', { connector_id: conn, index: 'no-such-index' }, 'index'],
    ];
    for (const [tool, args, field] of cases) {
      const r = await cp.call(tool, args);
      expect(r.data.error, tool).toMatchObject({ kind: 'not_found', field });
      expect(r.text, tool).toContain(`[${field}]`);
    }
  });

  it('failed connector checks keep their field; an unreachable endpoint is config_invalid and temporary', async () => {
    const missingBucket = await cp.call('create_connector', env.connector('no-such-bucket'));
    expect(missingBucket.data.error).toMatchObject({ kind: 'not_found', field: 'bucket' });
    const badSecret = env.connector('nomatch');
    env.proxy.addFault({ match: { op: 'ListObjects' }, times: 1, action: { type: 'status', status: 403, code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match' } });
    const auth = await cp.call('create_connector', badSecret);
    env.proxy.clearFaults();
    expect(auth.data.error).toMatchObject({ kind: 'permission_denied', field: 'credentials.secret_access_key' });
    const denied = env.connector('nomatch');
    env.proxy.addFault({ match: { op: 'ListObjects' }, times: 1, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
    const list = await cp.call('create_connector', denied);
    env.proxy.clearFaults();
    expect(list.data.error).toMatchObject({ kind: 'permission_denied', field: 'credentials' });

    const port = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = s.address() as net.AddressInfo;
        s.close(() => r(free));
      });
    });
    const down = await cp.call('create_connector', env.connector('nomatch', { endpoint: `http://127.0.0.1:${port}` }));
    expect(down.data.error).toMatchObject({ kind: 'config_invalid', field: 'endpoint', temporary: true });
    expect(down.data.error.message).toContain('ECONNREFUSED');
    const moved = await cp.call('update_connector', { connector_id: conn, endpoint: `http://127.0.0.1:${port}` });
    expect(moved.data.error).toMatchObject({ kind: 'config_invalid', field: 'endpoint', temporary: true });
    const gone = await cp.call('update_connector', { connector_id: conn, bucket: 'no-such-bucket' });
    expect(gone.data.error).toMatchObject({ kind: 'not_found', field: 'bucket' });
  });

  it('list_imports is newest first across imports and exports, and its cursor follows that order', async () => {
    const c = (await cp.ok('create_connector', env.connector('order', { scopes: ['import', 'export'] }))).connector.id;
    await env.s3.put('order', 'a.txt', 'a');
    const ids: string[] = [];
    const imp1 = await cp.ok('start_import', { connector_id: c, index: 'order', prefix: 'a.txt' });
    await waitForJob(cp, imp1.job_id);
    ids.push(imp1.job_id);
    await sleep(5); // distinct creation times (the order itself is what is checked, not the time)
    const exp1 = await cp.ok('start_export', { connector_id: c, index: 'order', path_template: 'out/{key}' });
    await waitForJob(cp, exp1.job_id);
    ids.push(exp1.job_id);
    await sleep(5);
    const imp2 = await cp.ok('start_import', { connector_id: c, index: 'order', prefix: 'a.txt', import_mode: 'all' });
    await waitForJob(cp, imp2.job_id);
    ids.push(imp2.job_id);
    const newestFirst = [...ids].reverse();
    expect((await cp.ok('list_imports', { connector_id: c })).imports.map((j: { job_id: string }) => j.job_id)).toEqual(newestFirst);
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await cp.ok('list_imports', { connector_id: c, limit: 1, ...(cursor ? { cursor } : {}) });
      paged.push(...page.imports.map((j: { job_id: string }) => j.job_id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(paged).toEqual(newestFirst);
  });

  it('stack traces go only to the debug log', async () => {
    await cp.ok('start_import', { connector_id: conn, index: 'stack', prefix: 'other/' }).then((r) => waitForJob(cp, r.job_id));
    // The stored content goes missing under the server: reading it is an unexpected error of ours.
    const blobs = path.join(dataDir, 'blobs');
    for (const f of fs.readdirSync(blobs, { recursive: true, withFileTypes: true })) if (f.isFile()) fs.rmSync(path.join(f.parentPath, f.name));
    const r = await cp.call('read_item', { index: 'stack', key: 'other/x.txt' });
    expect(r.data.error.kind).toBe('unexpected');
    expect(r.text).not.toMatch(/\n\s+at /);
    const lines = await until('the error log line', async () => {
      const ls = cp
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      return ls.some((l) => l.msg === 'tool failed') ? ls : null;
    });
    const above = lines.filter((l) => l.level !== 'debug');
    expect(above.filter((l) => 'stack' in l)).toEqual([]);
    expect(lines.some((l) => l.level === 'debug' && typeof l.stack === 'string' && l.stack.includes('    at '))).toBe(true);
  });
});
