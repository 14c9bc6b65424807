import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { automation, startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * google_drive edges end to end: the built server over stdio against our loopback Drive v3 server.
 * Trees as deep as Drive allows are walked whole, and deeper ones refused (not cut); a file whose owner
 * turned off downloads fails alone (the read check tries another, and connector health is not
 * touched); a name with "/" exports back under the same name; size filters pass Google files, whose
 * size is unknown until export.
 */
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
/** Drive's answer for a file whose owner turned on "Viewers can't download" (errors.ts maps this reason). */
const cannotDownload = { type: 'status', status: 403, reason: 'cannotDownloadFile', message: 'The user does not have sufficient permissions for this file.' };

describe('google_drive edges', () => {
  let drive: any;
  let cp: Running;
  let creds: Record<string, unknown>;
  const connector = async (root: string, extra: Record<string, unknown> = {}) =>
    (await cp.ok('create_connector', { name: uniqueName(), provider: 'google_drive', root_folder_id: root, endpoint: drive.url, credentials: creds, ...extra })).connector.id as string;

  /** Folders L<from>…L<to>, each in the one before, under `root`: the deepest and their names. */
  const nest = (root: string, from: number, to: number) => {
    let parent = root;
    const segs: string[] = [];
    for (let i = from; i <= to; i++) {
      parent = drive.addFolder({ name: `L${i}`, parent });
      segs.push(`L${i}`);
    }
    return { parent, segs };
  };

  beforeAll(async () => {
    drive = await startDriveServer();
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const email = 'review@test.iam.gserviceaccount.com';
    drive.addServiceAccount({ email, publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }) });
    creds = { type: 'service_account', json: JSON.stringify({ type: 'service_account', client_email: email, private_key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), token_uri: drive.tokenUrl }) };
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_MIN_INTERVAL_MS: '300' } });
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  it('files 70 folders down are listed, imported, and found by key; a tree deeper than Drive allows is refused, not cut', async () => {
    const root = drive.addFolder({ name: 'deep' });
    let { parent, segs } = nest(root, 1, 70);
    drive.addFile({ name: 'bottom.txt', parent, data: 'at depth 70' });
    const deepKey = `${segs.join('/')}/bottom.txt`;
    const conn = await connector(root);

    const keys: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await cp.ok('browse_connector', { connector_id: conn, limit: 1000, ...(cursor ? { cursor } : {}) });
      keys.push(...page.objects.map((o: { key: string }) => o.key));
      cursor = page.next_cursor;
    } while (cursor);
    expect(keys).toEqual([deepKey]);

    const byKey = await cp.ok('start_import', { connector_id: conn, index: uniqueName('deep'), keys: [deepKey] });
    expect(await waitForJob(cp, byKey.job_id)).toMatchObject({ status: 'completed', counts: { ready: 1 } });

    ({ parent } = nest(parent, 71, 102));
    drive.addFile({ name: 'too-deep.txt', parent, data: 'at depth 102' });
    const refused = await cp.call('browse_connector', { connector_id: await connector(root), limit: 1000 });
    expect(refused.data.error).toMatchObject({ kind: 'unsupported', field: 'prefix' });
    expect(refused.text).toMatch(/more than 100 folders below/);
  });

  // The read check tries the next file when one's owner turned off downloads.
  it('create_connector saves a folder whose first file cannot be downloaded when the others can', async () => {
    const root = drive.addFolder({ name: 'locked-first' });
    const locked = drive.addFile({ name: 'a-locked.pdf', parent: root, data: 'no download' });
    drive.addFile({ name: 'b-open.txt', parent: root, data: 'readable' });
    drive.addFault({ match: { op: 'files.media', fileId: locked }, times: 1e9, action: cannotDownload });
    const r = await cp.call('create_connector', { name: uniqueName(), provider: 'google_drive', root_folder_id: root, endpoint: drive.url, credentials: creds });
    expect(r.isError, r.text).toBe(false);
  });

  // Under a scheduled import, runs that end completed_with_errors run again on later ticks; that file's
  // failure is its own, so the connector's health does not count it.
  it('one download-restricted file does not turn a change-fed connector FAILED on quiet ticks', async () => {
    const root = drive.addFolder({ name: 'locked-feed' });
    for (let i = 0; i < 3; i++) drive.addFile({ name: `ok${i}.txt`, parent: root, data: `ok ${i}` });
    const locked = drive.addFile({ name: 'z-locked.pdf', parent: root, data: 'no download' });
    drive.addFault({ match: { op: 'files.media', fileId: locked }, times: 1e9, action: cannotDownload });
    const conn = await connector(root);
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: uniqueName('locked'), schedule: '1s' })).automation;
    const first = await until('a first run', async () => (await automation(cp, a.id)).last_job_id as string | null);
    expect(await waitForJob(cp, first)).toMatchObject({ status: 'completed_with_errors', counts: { ready: 3, failed: 1 } });
    // Nothing changes in Drive from here on: wait for six more ticks (runs or skips) or the connector leaving ACTIVE.
    const ticks = async () => {
      const v = await automation(cp, a.id);
      return (v.runs as number) + (v.skipped as number);
    };
    const start = await ticks();
    await until('six quiet ticks, or the connector no longer ACTIVE', async () => {
      const c = (await cp.ok('get_connector', { connector_id: conn })).connector;
      return c.status !== 'ACTIVE' || (await ticks()) >= start + 6;
    }, 60_000);
    const c = (await cp.ok('get_connector', { connector_id: conn })).connector;
    expect({ status: c.status, last_error: c.last_error }).toMatchObject({ status: 'ACTIVE' });
    expect((await automation(cp, a.id)).state).toBe('active');
  });

  // Keys escape "/" in a Drive name as %2F (README): an encoded separator inside a name is no traversal.
  it('an item whose Drive name holds "/" exports back to Drive under the same name', async () => {
    const src = drive.addFolder({ name: 'slash-src' });
    drive.addFile({ name: 'Q3/Q4 plan.txt', parent: src, data: 'plan' });
    const dst = drive.addFolder({ name: 'slash-dst' });
    const index = uniqueName('slash');
    const imp = await cp.ok('start_import', { connector_id: await connector(src), index });
    expect(await waitForJob(cp, imp.job_id)).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    expect((await cp.ok('list_index_items', { index })).items.map((i: { key: string }) => i.key)).toEqual(['Q3%2FQ4 plan.txt']);
    const out = await connector(dst, { scopes: ['import', 'export'], export_base_path: 'out' });
    const exp = await cp.call('start_export', { index, connector_id: out });
    expect(exp.isError, exp.text).toBe(false);
    expect(exp.data.failed_files).toEqual([]);
    expect(await waitForJob(cp, exp.data.job_id)).toMatchObject({ status: 'completed', counts: { exported: 1 } });
    const [outDir] = (drive.children(dst) as string[]).map((id) => drive.file(id));
    expect((drive.children(outDir.id) as string[]).map((id) => drive.file(id).name)).toEqual(['Q3/Q4 plan.txt']);
  });

  // Google Docs list with size 0 (browse shows null: unknown until exported).
  it('size filters pass a Google Doc, whose size is unknown until export', async () => {
    const root = drive.addFolder({ name: 'sizes' });
    drive.addFile({ name: 'small.txt', parent: root, data: 'x'.repeat(50) });
    drive.addNative({ name: 'Big doc', parent: root, kind: 'document', exports: { [DOCX]: Buffer.alloc(2_000_000, 1) } });
    const conn = await connector(root);
    const min = await cp.ok('start_import', { connector_id: conn, index: uniqueName('sz'), min_size: 1, dry_run: true });
    expect(min.sample).toContain('Big doc.docx');
    const max = await cp.ok('start_import', { connector_id: conn, index: uniqueName('sz'), max_size: 10, dry_run: true });
    expect(max.sample).toEqual(['Big doc.docx']);
  });
  // A job of only such files ends 'failed' ("all 1 files failed"): that verdict does not count against the connector either.
  it('imports whose only files are download-restricted do not turn the connector FAILED', async () => {
    const root = drive.addFolder({ name: 'only-locked' });
    const locked = drive.addFile({ name: 'view-only.pdf', parent: root, data: 'no download' });
    drive.addFault({ match: { op: 'files.media', fileId: locked }, times: 1e9, action: cannotDownload });
    const conn = await connector(root); // saved: the read check skips (owners turned downloading off)
    for (let i = 0; i < 5; i++) {
      const job = await cp.ok('start_import', { connector_id: conn, index: uniqueName('locked') });
      await waitForJob(cp, job.job_id);
    }
    const c = (await cp.ok('get_connector', { connector_id: conn })).connector;
    expect({ status: c.status, last_error: c.last_error }).toMatchObject({ status: 'ACTIVE' });
  });

  // Drive allows 100 levels of nested folders; the walk counts the folder it starts in as one.
  it('a tree exactly 100 folders deep (as Drive allows) is listed, not refused', async () => {
    const root = drive.addFolder({ name: 'deep100' });
    const { parent } = nest(root, 1, 100);
    drive.addFile({ name: 'bottom.txt', parent, data: 'at depth 100' });
    const conn = await connector(root);
    const r = await cp.call('browse_connector', { connector_id: conn, limit: 1000 });
    expect(r.isError, r.text).toBe(false);
  });
});
