import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
import { uniqueName } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * google_drive as a new user sets it up: the built server over stdio against the
 * loopback Drive v3 server, with a service account key.
 * - A root_folder_id that lies outside the shared drive named by drive_id is refused on one of those
 *   fields with a fix (or its files are listed): the connector is never saved as an empty one.
 * - An export_base_path whose folder name is taken by a file is refused on export_base_path with a fix
 *   (not on `key`, which create_connector does not take), or the export folder is made beside it.
 * - browse_connector's text names the export format of a Google file (README: "`exported` names the
 *   format"), and its structured size is null, as the text shows, not 0 (an empty file).
 * - A folder whose first file is a Google Doc larger than Google exports is saved by create_connector
 *   (that file fails alone on import, as README says), not refused on `credentials`.
 * - A service account without root_folder_id whose own My Drive is empty (README: "share a folder with
 *   its email and give that folder's id") is told so: create_connector's text, and the hint/fix of
 *   browse_connector and start_import, name root_folder_id (not "the connector's bucket holds no objects").
 * - A throttled token endpoint at create_connector is rate_limited with a fix, not blamed on the
 *   credentials field.
 */
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

describe('google_drive setup', () => {
  let drive: any;
  let cp: Running;
  let json: string;
  const base = () => ({ name: uniqueName(), provider: 'google_drive', endpoint: drive.url, credentials: { type: 'service_account', json } });

  beforeAll(async () => {
    drive = await startDriveServer();
    json = driveServiceAccount(drive, 'qa-drv@test.iam.gserviceaccount.com');
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  it('a root_folder_id outside the shared drive given as drive_id is refused on its field, never saved as an empty connector', async () => {
    const team = drive.addSharedDrive({ name: 'Team' });
    drive.addFile({ name: 'team.txt', parent: team, data: 'team' });
    const mine = drive.addFolder({ name: 'mine' });
    drive.addFile({ name: 'mine.txt', parent: mine, data: 'mine' });
    const r = await cp.call('create_connector', { ...base(), drive_id: team, root_folder_id: mine });
    if (r.isError) {
      expect(r.data.error.field, r.text).toMatch(/^(root_folder_id|drive_id)$/);
      expect(r.data.error.fix, r.text).toBeTruthy();
    } else {
      // Saved: then the folder's files must be what it lists, not "holds no objects".
      const b = await cp.call('browse_connector', { connector_id: r.data.connector.id });
      expect(b.data.objects?.map((o: { key: string }) => o.key), b.text).toEqual(['mine.txt']);
    }
  });

  it('an export_base_path whose folder name is taken by a file is refused on export_base_path with a fix', async () => {
    const dst = drive.addFolder({ name: 'dst' });
    drive.addFile({ name: 'exports', parent: dst, data: 'a file, not the export folder' });
    const r = await cp.call('create_connector', { ...base(), root_folder_id: dst, scopes: ['import', 'export'], export_base_path: 'exports' });
    if (r.isError) {
      expect(r.data.error.field, r.text).toBe('export_base_path');
      expect(r.data.error.fix, r.text).toBeTruthy();
    }
  });

  it("browse_connector's text names a Google file's export format", async () => {
    const root = drive.addFolder({ name: 'natives' });
    drive.addNative({ name: 'Plan', parent: root, kind: 'document', exports: { [DOCX]: fs.readFileSync('test/fixtures/documents/contract.docx') } });
    const conn = (await cp.ok('create_connector', { ...base(), root_folder_id: root })).connector.id;
    const r = await cp.call('browse_connector', { connector_id: conn });
    expect(r.isError, r.text).toBe(false);
    const page = JSON.parse(r.text.split('\n')[1]!);
    // Everything in the page's JSON but the keys themselves ("Plan.docx" names no format by itself).
    const rest = JSON.stringify({ ...page, objects: page.objects.map((row: unknown[]) => row.slice(1)) });
    expect(rest, r.text).toMatch(/wordprocessingml|docx/i);
  });

  it("browse_connector's structured result gives a Google file's size as null (unknown until export), not 0", async () => {
    const root = drive.addFolder({ name: 'natives-size' });
    drive.addNative({ name: 'Plan', parent: root, kind: 'document', exports: { [DOCX]: fs.readFileSync('test/fixtures/documents/contract.docx') } });
    const conn = (await cp.ok('create_connector', { ...base(), root_folder_id: root })).connector.id;
    const r = await cp.call('browse_connector', { connector_id: conn });
    expect(r.data.objects[0], JSON.stringify(r.data)).toMatchObject({ key: 'Plan.docx', size: null });
  });

  it('create_connector saves a folder whose first file is a Google Doc too large to export (that file fails alone)', async () => {
    const small = await startDriveServer({ exportLimit: 5000 });
    try {
      const key = driveServiceAccount(small, 'qa-drv-export@test.iam.gserviceaccount.com');
      const root = small.addFolder({ name: 'reports' });
      small.addNative({ name: 'Annual report', parent: root, kind: 'document', exports: { [DOCX]: fs.readFileSync('test/fixtures/documents/contract.docx') } });
      small.addFile({ name: 'notes.txt', parent: root, data: 'readable notes' });
      const r = await cp.call('create_connector', { name: uniqueName(), provider: 'google_drive', endpoint: small.url, root_folder_id: root, credentials: { type: 'service_account', json: key } });
      expect(r.isError, r.text).toBe(false);
    } finally {
      await small.stop();
    }
  });

  describe('a service account with an empty My Drive', () => {
    let empty: any;
    let conn: string;
    let created: string;
    beforeAll(async () => {
      empty = await startDriveServer();
      const key = driveServiceAccount(empty, 'qa-drv-empty@test.iam.gserviceaccount.com');
      const r = await cp.call('create_connector', { name: uniqueName(), provider: 'google_drive', endpoint: empty.url, credentials: { type: 'service_account', json: key } });
      created = r.text;
      conn = r.data.connector?.id;
    });
    afterAll(async () => empty?.stop());

    it('create_connector says its My Drive is empty and how to fix it', async () => {
      expect(created).toMatch(/root_folder_id/);
    });

    it('browse_connector and start_import name root_folder_id as the fix, not an empty "bucket"', async () => {
      const b = await cp.call('browse_connector', { connector_id: conn });
      expect(b.text).toMatch(/root_folder_id/);
      const s = await cp.call('start_import', { connector_id: conn, index: uniqueName('empty') });
      expect(s.isError, s.text).toBe(true);
      expect(s.data.error.fix, s.text).toMatch(/root_folder_id/);
    });
  });

  it('a throttled token endpoint at create_connector is rate_limited with a fix, not blamed on the credentials', async () => {
    const root = drive.addFolder({ name: 'throttled' });
    drive.addFile({ name: 'a.txt', parent: root, data: 'a' });
    drive.addFault({ match: { op: 'token' }, times: 1000, action: { type: 'status', status: 429, retryAfter: 0 } });
    try {
      const r = await cp.call('create_connector', { ...base(), root_folder_id: root });
      expect(r.isError).toBe(true);
      expect(r.data.error.kind, r.text).toBe('rate_limited');
      expect(r.data.error.fix, r.text).toBeTruthy();
      expect(r.data.error.field, r.text).not.toBe('credentials');
    } finally {
      drive.clearFaults();
    }
  });
});
