import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, tempFiles, waitForJob, type Running } from '../helpers/cloudport.js';
import { bytes, sha256, startS3Env, type S3Env } from '../helpers/s3env.js';

describe('imports over stdio against S3 (fauxqs)', () => {
  let env: S3Env;
  let cp: Running;
  let dataDir: string;
  let conn: string;
  const docs: Record<string, Buffer> = {};

  beforeAll(async () => {
    env = await startS3Env(['lib', 'big', 'hostile', 'browse', 'dups']);
    for (let i = 0; i < 12; i++) docs[`docs/d${String(i).padStart(2, '0')}.txt`] = Buffer.from(`document ${i % 8}\n`);
    docs['docs/sub/deep.txt'] = Buffer.from('deep\n');
    docs['docs/image.bin'] = bytes(3000, 7);
    docs['docs/'] = Buffer.alloc(0); // a console "folder" marker: never imported
    for (const [k, v] of Object.entries(docs)) await env.s3.put('lib', k, v);
    await env.s3.put('lib', 'other/x.txt', 'outside');
    dataDir = tempDir();
    cp = await startCloudport({ dataDir, env: { CLOUDPORT_IDLE_TIMEOUT_MS: '1000' } });
    conn = (await cp.ok('create_connector', env.connector('lib'))).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('imports a prefix, dedupes by content, skips folder markers, and reports every file', async () => {
    const start = await cp.ok('start_import', { connector_id: conn, index: 'main', prefix: 'docs/' });
    expect(start).toMatchObject({ status: 'queued', accepted: 14, listing_complete: true, failed_files: [] });
    expect(start.job_id).toMatch(/^imp_/);
    expect(start.sample.length).toBeGreaterThan(0);
    const s = await waitForJob(cp, start.job_id);
    expect(s.status).toBe('completed');
    // 12 docs with 8 distinct contents + deep + image: 10 distinct, 4 duplicates.
    expect(s.counts).toEqual({ pending: 0, ready: 10, deduped: 4, skipped: 0, failed: 0, canceled: 0 });
    expect(s.bytes_done).toBe(s.bytes_total);
    expect(s.started_at).toBeTruthy();
    expect(s.finished_at).toBeTruthy();
    const dups = await cp.ok('import_status', { job_id: start.job_id, files_status: 'deduped' });
    expect(dups.files).toHaveLength(4);
    for (const f of dups.files) expect(docs[f.key]!.equals(docs[f.duplicate_of]!)).toBe(true);

    // Every imported key is an item; the 4 deduped ones name the key that holds their content.
    const items = await cp.ok('list_index_items', { index: 'main', limit: 1000 });
    expect(items.items).toHaveLength(14);
    for (const it of items.items) {
      expect(it.sha256).toBe(sha256(docs[it.key]!));
      expect(it.size).toBe(docs[it.key]!.length);
      expect(it.connector_id).toBe(conn);
    }
    const named = Object.fromEntries(dups.files.map((f: { key: string; duplicate_of: string }) => [f.key, f.duplicate_of]));
    expect(Object.fromEntries(items.items.filter((i: { duplicate_of?: string }) => i.duplicate_of).map((i: { key: string; duplicate_of: string }) => [i.key, i.duplicate_of]))).toEqual(named);
    const sub = await cp.ok('list_index_items', { index: 'main', prefix: 'docs/sub/' });
    expect(sub.items.map((i: { key: string }) => i.key)).toEqual(['docs/sub/deep.txt']);
    const page1 = await cp.ok('list_index_items', { index: 'main', limit: 3 });
    const page2 = await cp.ok('list_index_items', { index: 'main', limit: 3, cursor: page1.next_cursor });
    expect(page2.items[0].key > page1.items[2].key).toBe(true);

    const text = await cp.ok('read_item', { index: 'main', key: 'docs/sub/deep.txt' });
    expect(text.text).toBe('deep\n');
    const part = await cp.ok('read_item', { index: 'main', key: 'docs/d01.txt', offset: 2, length: 3 });
    expect(part).toMatchObject({ text: 'cum', truncated: true });
    const bin = await cp.ok('read_item', { index: 'main', key: 'docs/image.bin' });
    expect(bin.text).toBeUndefined();
    expect(bin.note).toMatch(/binary/);
    expect((await cp.call('read_item', { index: 'main', key: 'nope' })).data.error.kind).toBe('not_found');
    expect((await cp.call('read_item', { index: 'main', key: 'docs/d01.txt', length: 300000 })).data.error.field).toBe('length');
    expect((await cp.call('list_index_items', { index: 'no-such-index' })).data.error.kind).toBe('not_found');

    const c = (await cp.ok('get_connector', { connector_id: conn })).connector;
    expect(c.last_sync_at).toBeTruthy();
  });

  it('new_only re-import makes zero object GETs; a changed object is imported again and replaces its item', async () => {
    env.proxy.resetCounts();
    const again = await cp.ok('start_import', { connector_id: conn, index: 'main', prefix: 'docs/', import_mode: 'new_only' });
    expect(again).toMatchObject({ accepted: 0, skipped: 14 });
    const s = await waitForJob(cp, again.job_id);
    expect(s).toMatchObject({ status: 'completed', counts: { skipped: 14, ready: 0 } });
    expect(env.proxy.counts.GetObject).toBe(0);
    expect(env.proxy.counts.HeadObject).toBe(0);

    await env.s3.put('lib', 'docs/d01.txt', 'changed content\n');
    const third = await cp.ok('start_import', { connector_id: conn, index: 'main', prefix: 'docs/', import_mode: 'new_only' });
    expect(third).toMatchObject({ accepted: 1, skipped: 13, sample: ['docs/d01.txt'] });
    await waitForJob(cp, third.job_id);
    const item = (await cp.ok('list_index_items', { index: 'main', prefix: 'docs/d01' })).items[0];
    expect(item.sha256).toBe(sha256('changed content\n'));
    await env.s3.put('lib', 'docs/d01.txt', docs['docs/d01.txt']!);
  });

  it('a new_only re-import of many unchanged files counts them all and keeps 100 of them as rows (past the first listing too)', async () => {
    const keys = Array.from({ length: 1150 }, (_, i) => `many/${String(i).padStart(4, '0')}.txt`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => env.s3.put('lib', k, k)));
    const first = await waitForJob(cp, (await cp.ok('start_import', { connector_id: conn, index: 'many', prefix: 'many/' })).job_id);
    expect(first.counts.ready).toBe(1150);
    env.proxy.resetCounts();
    const args = { connector_id: conn, index: 'many', prefix: 'many/', import_mode: 'new_only', idempotency_key: 'many-again' };
    const again = await cp.ok('start_import', args);
    // The first listing answers with its first 1,000 files; the rest is listed in the background.
    expect(again).toMatchObject({ accepted: 0, skipped: 1000, listing_complete: false });
    const s = await waitForJob(cp, again.job_id);
    expect(s).toMatchObject({ status: 'completed', counts: { skipped: 1150, ready: 0, pending: 0 } });
    expect(env.proxy.counts.GetObject).toBe(0);
    const rows = await cp.ok('import_status', { job_id: again.job_id, files_status: 'skipped', limit: 1000 });
    expect(rows.files).toHaveLength(100);
    expect(rows.files[0]).toEqual({ key: 'many/0000.txt', status: 'skipped', size: 13 });
    const listed = (await cp.ok('list_imports', { index: 'many' })).imports.find((j: { job_id: string }) => j.job_id === again.job_id);
    expect(listed.counts.skipped).toBe(1150);
    expect(await cp.ok('start_import', args)).toMatchObject({ job_id: again.job_id, replayed: true, skipped: 1150, accepted: 0 });
  });

  it('dedupe: false stores duplicates as their own items; an index is created on first use', async () => {
    const j = await cp.ok('start_import', { connector_id: conn, index: 'nodedupe', prefix: 'docs/', pattern: 'd0*.txt', dedupe: false });
    const s = await waitForJob(cp, j.job_id);
    expect(s.counts).toMatchObject({ ready: 10, deduped: 0 });
    const items = (await cp.ok('list_index_items', { index: 'nodedupe', limit: 1000 })).items;
    expect(items).toHaveLength(10);
    expect(items.filter((i: { duplicate_of?: string }) => i.duplicate_of)).toEqual([]);
  });

  it('every imported key is readable: identical and empty files are items naming the key that holds their content', async () => {
    const dconn = (await cp.ok('create_connector', env.connector('dups'))).connector.id;
    const same = ['same/a.txt', 'same/b.txt', 'same/c.txt'];
    const empty = ['empty/1.txt', 'empty/2.txt', 'empty/3.txt', 'empty/4.txt', 'empty/5.txt'];
    const content: Record<string, string> = { 'lone.txt': 'only one of me\n' };
    for (const k of same) content[k] = 'the same words\n';
    for (const k of empty) content[k] = '';
    for (const [k, v] of Object.entries(content)) await env.s3.put('dups', k, v);
    const keys = Object.keys(content).sort();

    const start = await cp.ok('start_import', { connector_id: dconn, index: 'dups' });
    expect(start.accepted).toBe(9);
    const s = await waitForJob(cp, start.job_id);
    expect(s).toMatchObject({ status: 'completed', counts: { ready: 3, deduped: 6, failed: 0, pending: 0 } });
    const listed = (await cp.ok('list_imports', { index: 'dups' })).imports.find((j: { job_id: string }) => j.job_id === start.job_id);
    expect(listed.counts).toMatchObject({ ready: 3, deduped: 6 });
    const deduped = (await cp.ok('import_status', { job_id: start.job_id, files_status: 'deduped' })).files;
    expect(deduped).toHaveLength(6);

    const items = async () => (await cp.ok('list_index_items', { index: 'dups', limit: 100 })).items as { key: string; size: number; sha256: string; duplicate_of?: string }[];
    const first = await items();
    expect(first.map((i) => i.key)).toEqual(keys);
    for (const it of first) expect([it.size, it.sha256]).toEqual([Buffer.byteLength(content[it.key]!), sha256(content[it.key]!)]);
    // Of each group of identical files, one holds the content and the others name it.
    const byKey = new Map(first.map((i) => [i.key, i]));
    for (const group of [same, empty]) {
      const holders = group.filter((k) => !byKey.get(k)!.duplicate_of);
      expect(holders).toHaveLength(1);
      for (const k of group) if (k !== holders[0]) expect(byKey.get(k)!.duplicate_of).toBe(holders[0]);
    }
    expect(byKey.get('lone.txt')!.duplicate_of).toBeUndefined();
    // import_status names the same key for each deduped file.
    for (const f of deduped) expect(f.duplicate_of).toBe(byKey.get(f.key)!.duplicate_of);
    for (const k of keys) {
      const r = await cp.ok('read_item', { index: 'dups', key: k });
      expect(r, k).toMatchObject({ key: k, size: Buffer.byteLength(content[k]!), text: content[k] });
    }
    // list_indexes counts every key; bytes count the shared content once.
    const ix = (await cp.ok('list_indexes', {})).indexes.find((i: { name: string }) => i.name === 'dups');
    expect(ix).toMatchObject({ items: 9, bytes: Buffer.byteLength(content['same/a.txt']! + content['lone.txt']!) });

    // A new_only re-import skips them all and adds no rows.
    const again = await cp.ok('start_import', { connector_id: dconn, index: 'dups', import_mode: 'new_only' });
    expect(again).toMatchObject({ accepted: 0, skipped: 9 });
    await waitForJob(cp, again.job_id);
    expect(await items()).toEqual(first);

    // Deleting the key that holds the content keeps the duplicates readable; the first of them by key holds it now.
    const holder = same.find((k) => !byKey.get(k)!.duplicate_of)!;
    const rest = same.filter((k) => k !== holder);
    expect(await cp.ok('delete_item', { index: 'dups', key: holder })).toMatchObject({ key: holder, blob_removed: false });
    expect((await cp.call('read_item', { index: 'dups', key: holder })).data.error.kind).toBe('not_found');
    for (const k of rest) expect((await cp.ok('read_item', { index: 'dups', key: k })).text).toBe(content[k]);
    const after = new Map((await items()).map((i) => [i.key, i]));
    expect(after.get(rest[0]!)!.duplicate_of).toBeUndefined();
    expect(after.get(rest[1]!)!.duplicate_of).toBe(rest[0]);
    expect(after.size).toBe(8);

    // delete_index removes them all, and the shared content with the last item that used it.
    expect(await cp.ok('delete_index', { index: 'dups' })).toMatchObject({ items_deleted: 8, blobs_removed: 3 });
    expect((await cp.call('list_index_items', { index: 'dups' })).data.error.kind).toBe('not_found');
  });

  it('imports explicit keys; a missing key fails at once and the job completes with errors', async () => {
    const j = await cp.ok('start_import', { connector_id: conn, index: 'keys', keys: ['docs/d03.txt', 'other/x.txt', 'docs/missing.txt'] });
    expect(j.accepted).toBe(2);
    expect(j.failed_files).toEqual([{ key: 'docs/missing.txt', error: expect.stringMatching(/not found/) }]);
    const s = await waitForJob(cp, j.job_id);
    expect(s.status).toBe('completed_with_errors');
    const failed = await cp.ok('import_status', { job_id: j.job_id, files_status: 'failed' });
    expect(failed.files).toEqual([{ key: 'docs/missing.txt', status: 'failed', error: expect.any(String) }]);
    const bad = await cp.call('start_import', { connector_id: conn, index: 'keys', keys: ['a', ''] });
    expect(bad.data.error).toMatchObject({ kind: 'config_invalid', field: 'keys[1]' });
    const both = await cp.call('start_import', { connector_id: conn, index: 'keys', keys: ['a'], prefix: 'docs/' });
    expect(both.data.error).toMatchObject({ kind: 'config_invalid', field: 'keys' });
  });

  it('a job where no file succeeds is failed and counts as a connector failure', async () => {
    const before = (await cp.ok('get_connector', { connector_id: conn })).connector.consecutive_failures;
    env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'other/x.txt' }, times: 10, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'denied' } });
    const j = await cp.ok('start_import', { connector_id: conn, index: 'fails', keys: ['other/x.txt'] });
    const s = await waitForJob(cp, j.job_id);
    env.proxy.clearFaults();
    expect(s.status).toBe('failed');
    expect(s.reason).toMatch(/failed/);
    const f = await cp.ok('import_status', { job_id: j.job_id, files_status: 'failed' });
    expect(f.files[0].error).toMatch(/access denied/i);
    const c = (await cp.ok('get_connector', { connector_id: conn })).connector;
    expect(c.consecutive_failures).toBe(before + 1);
    expect(c.last_error).toContain(j.job_id);
  });

  it('survives a 503 and a cut body: retried, resumed with Range, byte-exact', async () => {
    const bigConn = (await cp.ok('create_connector', env.connector('big'))).connector.id;
    const big = bytes(3 * 1024 * 1024 + 17, 42);
    const other = bytes(600 * 1024, 43);
    await env.s3.put('big', 'large.bin', big);
    await env.s3.put('big', 'other.bin', other);
    env.proxy.resetCounts();
    env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'other.bin' }, action: { type: 'status', status: 503, code: 'SlowDown', message: 'slow down', headers: { 'retry-after': '0' } } });
    env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'large.bin' }, action: { type: 'cut', afterBytes: 1024 * 1024 } });
    const j = await cp.ok('start_import', { connector_id: bigConn, index: 'big' });
    const s = await waitForJob(cp, j.job_id);
    expect(s.status).toBe('completed');
    expect(s.counts.ready).toBe(2);
    const items = (await cp.ok('list_index_items', { index: 'big' })).items;
    expect(items.find((i: { key: string }) => i.key === 'large.bin').sha256).toBe(sha256(big));
    expect(items.find((i: { key: string }) => i.key === 'other.bin').sha256).toBe(sha256(other));
    expect(env.proxy.gets.filter((k) => k === 'large.bin')).toHaveLength(2);
    expect(env.proxy.gets.filter((k) => k === 'other.bin')).toHaveLength(2);
    // A stalled body is abandoned after the idle timeout and resumed.
    env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'large.bin' }, action: { type: 'stall', afterBytes: 512 * 1024, ms: 20_000 } });
    const j2 = await cp.ok('start_import', { connector_id: bigConn, index: 'big2', keys: ['large.bin'] });
    const s2 = await waitForJob(cp, j2.job_id);
    expect(s2.status).toBe('completed');
    expect((await cp.ok('list_index_items', { index: 'big2' })).items[0].sha256).toBe(sha256(big));
    expect(tempFiles(dataDir)).toEqual([]);
  });

  it('imports hostile keys byte-exact, escaped in text', async () => {
    const hostileConn = (await cp.ok('create_connector', env.connector('hostile'))).connector.id;
    // Printable hostile keys go through listing (one page: fauxqs pages wrongly across punctuation, see testing.md).
    const listed = ['../../etc/passwd', 'p/../b.txt', 'p/100%.txt', 'p/%2F%00.txt', 'p/spaces in name .txt', 'p/bidi\u202egnp.exe', 'p/caf\u0065\u0301.txt', 'p/café.txt', 'p/' + 'long'.repeat(200) + '.txt'].map((k) => (k.startsWith('p/') ? k : 'p/' + k));
    // Control characters cannot travel reliably in S3 XML listings (XML 1.0 normalizes CR, and fauxqs
    // ignores EncodingType=url): those keys are imported by explicit key (HEAD + GET, no listing).
    const byKey = ['ctl/tab\tname.txt', 'ctl/new\nline.txt', 'ctl/esc\u001b[31mred.txt', 'ctl/cr\rname.txt'];
    for (const [i, k] of [...listed, ...byKey].entries()) await env.s3.put('hostile', k, `content ${i}`);
    const j1 = await cp.ok('start_import', { connector_id: hostileConn, index: 'hostile', prefix: 'p/' });
    expect(j1.accepted).toBe(listed.length);
    const j2 = await cp.call('start_import', { connector_id: hostileConn, index: 'hostile', keys: byKey });
    expect(j2.isError).toBe(false);
    // The text is a summary line and a JSON line: a key cannot add a line or a raw control or bidi character.
    const unforged = (text: string, lines: number) => {
      expect(text.split('\n')).toHaveLength(lines);
      expect(text.replaceAll('\n', ' ')).not.toMatch(/[\u0000-\u001f\u202e]/);
    };
    unforged(j2.text, 2);
    await waitForJob(cp, j1.job_id);
    const s2 = await waitForJob(cp, j2.data.job_id);
    expect(s2.status).toBe('completed');
    const items = await cp.call('list_index_items', { index: 'hostile', limit: 1000 });
    const keys = items.data.items.map((i: { key: string }) => i.key).sort();
    expect(keys).toEqual([...listed, ...byKey].sort());
    unforged(items.text, 2);
    for (const [i, k] of [...listed, ...byKey].entries()) {
      const r = await cp.call('read_item', { index: 'hostile', key: k });
      expect(r.data.text, JSON.stringify(k)).toBe(`content ${i}`);
      unforged(r.text, 3); // header, blank line, the content
    }
    // Object keys never become file paths: nothing outside the blob store was written.
    expect(fs.existsSync(path.join(dataDir, '..', 'etc'))).toBe(false);
    expect(fs.readdirSync(dataDir).sort()).toEqual(['blobs', 'cloudport.db', 'cloudport.db-shm', 'cloudport.db-wal', 'incoming', 'master.key']);
  });

  it('runs several imports at once, also of the same connector, and cancels one', async () => {
    const jobs = await Promise.all(['p1', 'p2', 'p3'].map((index) => cp.ok('start_import', { connector_id: conn, index, prefix: 'docs/' })));
    const done = await Promise.all(jobs.map((j) => waitForJob(cp, j.job_id)));
    for (const s of done) expect(s.status).toBe('completed');
    env.proxy.addFault({ match: { op: 'GetObject' }, times: 100, action: { type: 'stall', afterBytes: 1, ms: 30_000 } });
    const slow = await cp.ok('start_import', { connector_id: conn, index: 'cancel-me', prefix: 'docs/' });
    const del = await cp.call('delete_connector', { connector_id: conn });
    expect(del.data.error.kind).toBe('conflict');
    const c = await cp.ok('cancel_import', { job_id: slow.job_id });
    env.proxy.clearFaults();
    expect(c.status).toBe('canceled');
    const s = await cp.ok('import_status', { job_id: slow.job_id });
    expect(s.status).toBe('canceled');
    expect(s.counts.pending).toBe(0);
    expect(s.counts.canceled + s.counts.ready + s.counts.deduped).toBe(14);
  });

  it('browses with prefix + glob, folders, pagination, and rejects a foreign cursor', async () => {
    const b = (await cp.ok('create_connector', env.connector('browse'))).connector.id;
    const keys = ['incoming/a.mp4', 'incoming/b.mp4', 'incoming/.hidden.mp4', 'incoming/c.MP4', 'incoming/sub/d.mp4', 'incoming/sub/deeper/e.mp4', 'incoming/notes.txt', 'outgoing/f.mp4', 'top.mp4'];
    for (const k of keys) await env.s3.put('browse', k, k);
    const keysOf = (r: { objects: { key: string }[] }) => r.objects.map((o) => o.key).sort();
    let r = await cp.ok('browse_connector', { connector_id: b, prefix: 'incoming/', pattern: '*.mp4' });
    expect(keysOf(r)).toEqual(['incoming/.hidden.mp4', 'incoming/a.mp4', 'incoming/b.mp4']);
    r = await cp.ok('browse_connector', { connector_id: b, pattern: 'incoming/**/*.mp4' });
    expect(keysOf(r)).toEqual(['incoming/.hidden.mp4', 'incoming/a.mp4', 'incoming/b.mp4', 'incoming/sub/d.mp4', 'incoming/sub/deeper/e.mp4']);
    expect(r.scanned).toBe(7); // only the literal head incoming/ was listed
    r = await cp.ok('browse_connector', { connector_id: b, pattern: '*.mp4' });
    expect(keysOf(r)).toEqual(['top.mp4']);
    r = await cp.ok('browse_connector', { connector_id: b, prefix: 'incoming/', folders: true });
    expect(r.folders).toEqual(['incoming/sub/']);
    expect(keysOf(r)).toEqual(['incoming/.hidden.mp4', 'incoming/a.mp4', 'incoming/b.mp4', 'incoming/c.MP4', 'incoming/notes.txt']);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      r = await cp.ok('browse_connector', { connector_id: b, page_size: 2, ...(cursor ? { cursor } : {}) });
      expect(r.objects.length).toBeLessThanOrEqual(2);
      seen.push(...keysOf(r));
      cursor = r.next_cursor ?? undefined;
    } while (cursor);
    expect(seen.sort()).toEqual([...keys].sort());
    const first = await cp.ok('browse_connector', { connector_id: b, page_size: 1 });
    const foreign = await cp.call('browse_connector', { connector_id: b, page_size: 1, prefix: 'x/', cursor: first.next_cursor });
    expect(foreign.data.error).toMatchObject({ kind: 'config_invalid', field: 'cursor' });
    const badGlob = await cp.call('browse_connector', { connector_id: b, pattern: '[a-' });
    expect(badGlob.data.error).toMatchObject({ kind: 'config_invalid', field: 'pattern' });
    const huge = await cp.call('browse_connector', { connector_id: b, page_size: 5000 });
    expect(huge.data.error).toMatchObject({ kind: 'config_invalid', field: 'page_size' });
  });
});
