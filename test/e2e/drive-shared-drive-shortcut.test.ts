import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * A connector on a shared drive (drive_id) follows shortcuts once, also to folders outside that drive:
 * the shared drive's own folders are listed in that drive alone, and a folder reached through a
 * shortcut (in My Drive, or in another shared drive) across every corpus the credentials see, and again
 * in its own drive when that search says it left some drives out. Its files browse, import by key and
 * import by listing like any other.
 */
describe('google_drive: shared drive (drive_id) follows shortcuts to folders outside it', () => {
  let drive: any;
  let cp: Running;
  let conn: string;
  let otherDrive: string;
  beforeAll(async () => {
    drive = await startDriveServer();
    const json = driveServiceAccount(drive, 'member@test.iam.gserviceaccount.com');
    const sd = drive.addSharedDrive({ name: 'Team' });
    drive.addFile({ name: 'own.txt', parent: sd, data: 'in the shared drive' });
    const mine = drive.addFolder({ name: 'mine' }); // in My Drive
    drive.addFile({ name: 'mine.txt', parent: mine, data: 'reached through a shortcut' });
    drive.addShortcut({ name: 'to-mine', parent: sd, targetId: mine });
    otherDrive = drive.addSharedDrive({ name: 'Other' });
    const other = drive.addFolder({ name: 'other', parent: otherDrive });
    drive.addFile({ name: 'other.txt', parent: other, data: 'in another shared drive' });
    drive.addShortcut({ name: 'to-other', parent: sd, targetId: other });
    cp = await startCloudport({ dataDir: tempDir() });
    conn = (await cp.ok('create_connector', { name: 'team', provider: 'google_drive', drive_id: sd, endpoint: drive.url, credentials: { type: 'service_account', json } })).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  it('browse lists the files under both shortcut folders, and imports by key and by listing find them', async () => {
    const folders = await cp.ok('browse_connector', { connector_id: conn, folders: true });
    expect(folders.folders).toEqual(['to-mine/', 'to-other/']);
    const all = await cp.call('browse_connector', { connector_id: conn });
    expect(all.isError, all.text).toBe(false);
    expect(all.data.objects.map((o: { key: string }) => o.key)).toEqual(['own.txt', 'to-mine/mine.txt', 'to-other/other.txt']);

    const byKey = await cp.ok('start_import', { connector_id: conn, index: 'by-key', keys: ['to-mine/mine.txt'] });
    expect(byKey.failed_files).toEqual([]);
    expect(await waitForJob(cp, byKey.job_id)).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    expect((await cp.call('read_item', { index: 'by-key', key: 'to-mine/mine.txt' })).text).toContain('reached through a shortcut');

    const listed = await cp.ok('start_import', { connector_id: conn, index: 'team' });
    expect(await waitForJob(cp, listed.job_id)).toMatchObject({ status: 'completed', counts: { ready: 3 } });
    expect((await cp.call('read_item', { index: 'team', key: 'to-other/other.txt' })).text).toContain('in another shared drive');
  });

  it('a search across all drives that leaves the other shared drive out (incompleteSearch) lists that folder again in its own drive: nothing is missed', async () => {
    drive.leaveOutOfAllDrives(otherDrive);
    const all = await cp.ok('browse_connector', { connector_id: conn });
    expect(all.objects.map((o: { key: string }) => o.key)).toEqual(['own.txt', 'to-mine/mine.txt', 'to-other/other.txt']);
    const listed = await cp.ok('start_import', { connector_id: conn, index: 'incomplete' });
    expect(await waitForJob(cp, listed.job_id)).toMatchObject({ status: 'completed', counts: { ready: 3 } });
  });
});
