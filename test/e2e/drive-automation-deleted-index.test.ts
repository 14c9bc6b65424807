import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { automation, startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * A scheduled google_drive import skips ticks when Drive's change feed says nothing changed, but only
 * while its index is as the last run left it: after delete_index, or delete_item of one of its items,
 * the next tick runs and fills the index again though nothing changed in Drive; once the index is
 * back, quiet ticks are skipped again.
 */
describe('google_drive automation after its index or an item is deleted', () => {
  let drive: any;
  let cp: Running;
  let conn: string;
  beforeAll(async () => {
    drive = await startDriveServer();
    const json = driveServiceAccount(drive, 'scheduler@test.iam.gserviceaccount.com');
    const root = drive.addFolder({ name: 'team' });
    drive.addFile({ name: 'a.txt', parent: root, data: 'hello' });
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_MIN_INTERVAL_MS: '300' } });
    conn = (await cp.ok('create_connector', { name: 'team', provider: 'google_drive', root_folder_id: root, endpoint: drive.url, credentials: { type: 'service_account', json } })).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  it('the next tick imports into the deleted index again, and the deleted item, then quiet ticks are skipped', async () => {
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'feed', schedule: '1s' })).automation;
    const first = await until('a first run', async () => (await automation(cp, a.id)).last_job_id as string | null);
    expect(await waitForJob(cp, first)).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    await cp.ok('delete_index', { index: 'feed' });

    // Nothing changes in Drive: the first tick after the deletion runs all the same.
    const before = await automation(cp, a.id);
    const rerun = await until('a run after delete_index', async () => {
      const v = await automation(cp, a.id);
      return v.runs > before.runs ? (v.last_job_id as string) : null;
    });
    expect(await waitForJob(cp, rerun)).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    expect((await cp.ok('list_index_items', { index: 'feed' })).items.map((i: { key: string }) => i.key)).toEqual(['a.txt']);

    // With the index back, ticks with nothing changed are skipped again.
    const refilled = await automation(cp, a.id);
    await until('two quiet ticks', async () => (await automation(cp, a.id)).skipped >= refilled.skipped + 2);
    expect((await automation(cp, a.id)).runs).toBe(refilled.runs);

    // An item deleted from the index (delete_item): the next tick runs and imports it again.
    await cp.ok('delete_item', { index: 'feed', key: 'a.txt' });
    const back = await until('a run after delete_item', async () => {
      const v = await automation(cp, a.id);
      return v.runs > refilled.runs ? (v.last_job_id as string) : null;
    });
    expect(await waitForJob(cp, back)).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    expect((await cp.ok('list_index_items', { index: 'feed' })).items.map((i: { key: string }) => i.key)).toEqual(['a.txt']);
    // (A tick within a couple of seconds of the deletion runs again: another host's clock may differ.)
    const rerunDone = await automation(cp, a.id);
    await until('a quiet tick', async () => (await automation(cp, a.id)).skipped > rerunDone.skipped);
    const restored = await automation(cp, a.id);
    await until('two more quiet ticks', async () => (await automation(cp, a.id)).skipped >= restored.skipped + 2);
    await cp.ok('update_automation', { automation_id: a.id, enabled: false });
    expect((await automation(cp, a.id)).runs).toBe(restored.runs);
  });
});
