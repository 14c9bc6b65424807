import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { automation, startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * A scheduled import of a shared drive (drive_id) whose root holds a shortcut to a folder outside the
 * drive (in My Drive): the drive's change feed does not hold that folder's changes, so the user's feed
 * is read for it (and for files its shortcuts lead to). A file added there, or such a file edited, runs
 * the next tick; a change elsewhere in My Drive, or none, leaves ticks skipped.
 */
describe('google_drive: a shared drive automation sees changes behind its shortcuts', () => {
  let drive: any;
  let cp: Running;
  let conn: string;
  let mine: string;
  let elsewhere: string;
  let report: string;
  beforeAll(async () => {
    drive = await startDriveServer();
    const json = driveServiceAccount(drive, 'member@test.iam.gserviceaccount.com');
    const sd = drive.addSharedDrive({ name: 'Team' });
    drive.addFile({ name: 'own.txt', parent: sd, data: 'in the shared drive' });
    mine = drive.addFolder({ name: 'mine' }); // in My Drive
    const elsewhereFiles = drive.addFolder({ name: 'files' }); // in My Drive: a file shortcut's target lives here
    drive.addFile({ name: 'first.txt', parent: mine, data: 'reached through a shortcut' });
    drive.addShortcut({ name: 'to-mine', parent: sd, targetId: mine });
    report = drive.addFile({ name: 'report.txt', parent: elsewhereFiles, data: 'report, first edition' });
    drive.addShortcut({ name: 'report-link.txt', parent: sd, targetId: report });
    elsewhere = drive.addFolder({ name: 'elsewhere' }); // in My Drive, not reached
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_MIN_INTERVAL_MS: '300' } });
    conn = (await cp.ok('create_connector', { name: 'team', provider: 'google_drive', drive_id: sd, endpoint: drive.url, credentials: { type: 'service_account', json } })).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  it('a file added in the shortcut\'s folder outside the drive runs the next tick; other changes in My Drive do not', async () => {
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'team', schedule: '1s' })).automation;
    const first = await until('a first run', async () => (await automation(cp, a.id)).last_job_id as string | null);
    expect(await waitForJob(cp, first)).toMatchObject({ status: 'completed', counts: { ready: 3 } });
    // The first run read everything (no token yet); the second tick holds both feeds' places.
    const settled = await automation(cp, a.id);
    await until('two quiet ticks', async () => (await automation(cp, a.id)).skipped >= settled.skipped + 2);

    // A change in My Drive that no shortcut leads to: still quiet.
    drive.addFile({ name: 'unrelated.txt', parent: elsewhere, data: 'not the connector\'s' });
    const quiet = await automation(cp, a.id);
    await until('two more quiet ticks', async () => (await automation(cp, a.id)).skipped >= quiet.skipped + 2);
    expect((await automation(cp, a.id)).runs).toBe(quiet.runs);

    // A file added behind the shortcut: the next tick runs and imports it.
    drive.addFile({ name: 'second.txt', parent: mine, data: 'added outside the drive' });
    const rerun = await until('a run after the change behind the shortcut', async () => {
      const v = await automation(cp, a.id);
      return v.runs > quiet.runs ? (v.last_job_id as string) : null;
    });
    expect(await waitForJob(cp, rerun)).toMatchObject({ status: 'completed' });
    const keys = (await cp.ok('list_index_items', { index: 'team' })).items.map((i: { key: string }) => i.key);
    expect(keys).toEqual(['own.txt', 'report-link.txt', 'to-mine/first.txt', 'to-mine/second.txt']);

    // A file a shortcut leads to, outside the drive, edited: the next tick runs and reads its new content.
    const afterFolder = await automation(cp, a.id);
    await until('a quiet tick', async () => (await automation(cp, a.id)).skipped > afterFolder.skipped);
    drive.setContent(report, 'report, second edition');
    const edited = await until('a run after the edit behind the file shortcut', async () => {
      const v = await automation(cp, a.id);
      return v.runs > afterFolder.runs ? (v.last_job_id as string) : null;
    });
    expect(await waitForJob(cp, edited)).toMatchObject({ status: 'completed' });
    expect((await cp.call('read_item', { index: 'team', key: 'report-link.txt' })).text).toContain('second edition');
    await cp.ok('update_automation', { automation_id: a.id, enabled: false });
  });
});
