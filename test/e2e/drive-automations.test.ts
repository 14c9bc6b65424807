import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { automation, startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { uniqueName } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * Scheduled imports over google_drive follow Drive's changes API: a tick with no change under the
 * connector's root folder reads one page of changes and lists nothing; a change under it runs the import.
 */
describe('google_drive automations read the change feed', () => {
  let drive: any;
  let cp: Running;
  let root: string;
  let inDir: string;
  let outside: string;
  let conn: string;
  let creds: Record<string, unknown>;

  beforeAll(async () => {
    drive = await startDriveServer();
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const email = 'sched@test.iam.gserviceaccount.com';
    drive.addServiceAccount({ email, publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }) });
    root = drive.addFolder({ name: 'team' });
    inDir = drive.addFolder({ name: 'in', parent: root });
    outside = drive.addFolder({ name: 'elsewhere' });
    drive.addFile({ name: 'a.txt', parent: inDir, data: 'first' });
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_MIN_INTERVAL_MS: '300' } });
    const json = JSON.stringify({ type: 'service_account', client_email: email, private_key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), token_uri: drive.tokenUrl });
    creds = { type: 'service_account', json };
    conn = (await cp.ok('create_connector', { name: uniqueName(), provider: 'google_drive', root_folder_id: root, endpoint: drive.url, credentials: creds })).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  it('skips ticks when nothing under the root changed (no listing), and imports when something did', async () => {
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'feed', schedule: '1s' })).automation;
    const first = await until('a first run', async () => (await automation(cp, a.id)).last_job_id as string | null);
    expect(await waitForJob(cp, first)).toMatchObject({ status: 'completed', counts: { ready: 1 } });

    // Quiet ticks: the feed is read, nothing is listed, no job starts.
    drive.resetCounts();
    const runs = (await automation(cp, a.id)).runs;
    const skipped = (await automation(cp, a.id)).skipped;
    await until('two quiet ticks', async () => (await automation(cp, a.id)).skipped >= skipped + 2);
    expect(drive.counts['changes.list']).toBeGreaterThanOrEqual(2);
    expect(drive.counts['files.list'] ?? 0).toBe(0);
    expect((await automation(cp, a.id)).runs).toBe(runs);

    // A change outside the root folder is not the connector's: still no run.
    drive.addFile({ name: 'other.txt', parent: outside, data: 'not ours' });
    const s2 = (await automation(cp, a.id)).skipped;
    await until('another quiet tick', async () => (await automation(cp, a.id)).skipped >= s2 + 2);
    expect((await automation(cp, a.id)).runs).toBe(runs);
    // No folder was listed: only the shortcuts were asked for (a shortcut under the root could lead there).
    const listings = (drive.requests as { op: string; url: string }[]).filter((r) => r.op === 'files.list').map((r) => decodeURIComponent(r.url));
    expect(listings.filter((u) => !u.includes("mimeType = 'application/vnd.google-apps.shortcut'"))).toEqual([]);

    // A new file under the root: the next tick runs the import, which takes only the new file.
    drive.addFile({ name: 'b.txt', parent: inDir, data: 'second' });
    const later = await until('a run after the change', async () => {
      const v = await automation(cp, a.id);
      return v.runs > runs && v.last_job_id !== first ? (v.last_job_id as string) : null;
    });
    expect(await waitForJob(cp, later)).toMatchObject({ status: 'completed', counts: { ready: 1, skipped: 1 } });
    const keys = (await cp.ok('list_index_items', { index: 'feed' })).items.map((i: { key: string }) => i.key);
    expect(keys).toEqual(['in/a.txt', 'in/b.txt']);
  });

  it('a Google Doc browses as NAME.docx with size null, imports as its DOCX export and is searchable', async () => {
    const docx = fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/documents/contract.docx'));
    const docs = drive.addFolder({ name: 'docs', parent: root });
    drive.addNative({ name: 'Services agreement', parent: docs, kind: 'document', exports: { 'application/vnd.openxmlformats-officedocument.wordprocessingml.document': docx } });
    const b = await cp.call('browse_connector', { connector_id: conn, prefix: 'docs/' });
    expect(b.text).toContain('Size null: a Google file, exported on import');
    expect(b.data.objects[0]).toMatchObject({ key: 'docs/Services agreement.docx', exported: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' });
    const j = await cp.ok('start_import', { connector_id: conn, index: 'docs', prefix: 'docs/' });
    expect(await waitForJob(cp, j.job_id)).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    const item = (await cp.ok('list_index_items', { index: 'docs' })).items[0];
    expect(item).toMatchObject({ key: 'docs/Services agreement.docx', size: docx.length });
    const hits = (await cp.ok('search_index', { index: 'docs', query: '"governing law"' })).results;
    expect(hits.map((h: { key: string }) => h.key)).toEqual(['docs/Services agreement.docx']);
  });

  it('a change inside the target of a shortcut under the root runs the import', async () => {
    const root2 = drive.addFolder({ name: 'team2' });
    const target = drive.addFolder({ name: 'shared-elsewhere' });
    drive.addFile({ name: 't1.txt', parent: target, data: 'one' });
    drive.addShortcut({ name: 'SC', parent: root2, targetId: target });
    const conn2 = (await cp.ok('create_connector', { name: uniqueName(), provider: 'google_drive', root_folder_id: root2, endpoint: drive.url, credentials: creds })).connector.id;
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn2, index: 'through', schedule: '1s' })).automation;
    const first = await until('a first run', async () => (await automation(cp, a.id)).last_job_id as string | null);
    expect(await waitForJob(cp, first)).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    const runs = (await automation(cp, a.id)).runs;
    drive.addFile({ name: 't2.txt', parent: target, data: 'two' });
    const later = await until('a run after the change behind the shortcut', async () => {
      const v = await automation(cp, a.id);
      return v.runs > runs && v.last_job_id !== first ? (v.last_job_id as string) : null;
    });
    expect(await waitForJob(cp, later)).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    expect((await cp.ok('list_index_items', { index: 'through' })).items.map((i: { key: string }) => i.key)).toEqual(['SC/t1.txt', 'SC/t2.txt']);
  });

  it('update_connector moves the root folder, and the next scheduled run reads the new folder whole', async () => {
    const before = drive.addFolder({ name: 'old-root' });
    const after = drive.addFolder({ name: 'new-root' });
    drive.addFile({ name: 'old.txt', parent: before, data: 'old' });
    drive.addFile({ name: 'new.txt', parent: after, data: 'new' });
    const c = (await cp.ok('create_connector', { name: uniqueName(), provider: 'google_drive', root_folder_id: before, endpoint: drive.url, credentials: creds })).connector.id;
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: c, index: 'moved', schedule: '1s' })).automation;
    const first = await until('a first run', async () => (await automation(cp, a.id)).last_job_id as string | null);
    expect(await waitForJob(cp, first)).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    const updated = await cp.ok('update_connector', { connector_id: c, root_folder_id: after });
    expect(updated.connector.location).toMatchObject({ root_folder_id: after });
    const later = await until('a run over the new root', async () => {
      const v = await automation(cp, a.id);
      return v.last_job_id !== first ? (v.last_job_id as string) : null;
    });
    const done = await waitForJob(cp, later);
    expect(done, JSON.stringify((await cp.ok('import_status', { job_id: later, files_status: 'failed' })).files)).toMatchObject({ status: 'completed' });
    expect((await cp.ok('list_index_items', { index: 'moved' })).items.map((i: { key: string }) => i.key)).toContain('new.txt');
  });
});
