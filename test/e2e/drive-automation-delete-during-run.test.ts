import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { automation, startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * A scheduled google_drive import whose index loses an item (delete_item) while the automation's run
 * is still going (after that item was committed): nothing changes in Drive, but the index is not as
 * the run left it, so a later tick runs and brings the item back, as it does after a delete_item
 * made once the run ended.
 */
describe('google_drive automation: delete_item while its run is still going', () => {
  let drive: any;
  let cp: Running;
  let conn: string;
  const N = 400;
  beforeAll(async () => {
    drive = await startDriveServer();
    const json = driveServiceAccount(drive, 'racer@test.iam.gserviceaccount.com');
    const root = drive.addFolder({ name: 'many' });
    for (let i = 0; i < N; i++) drive.addFile({ name: `f${String(i).padStart(3, '0')}.txt`, parent: root, data: `file ${i}` });
    cp = await startCloudport({ dataDir: tempDir(), args: ['--workers', '2'], env: { CLOUDPORT_MIN_INTERVAL_MS: '300' } });
    conn = (await cp.ok('create_connector', { name: 'many', provider: 'google_drive', root_folder_id: root, endpoint: drive.url, credentials: { type: 'service_account', json } })).connector.id;
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  it('a later tick runs and imports the deleted item again', async () => {
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'race', schedule: '1s' })).automation;
    // The first run is slow enough (400 files, --workers 2) to delete an item it already committed while it goes.
    const run = await until('a first run', async () => (await automation(cp, a.id)).last_job_id as string | null);
    await until('f000.txt committed', async () => (await cp.ok('list_index_items', { index: 'race', prefix: 'f000', limit: 10 }).catch(() => ({ items: [] }))).items.length > 0);
    await cp.ok('delete_item', { index: 'race', key: 'f000.txt' });
    const during = await cp.ok('import_status', { job_id: run });
    expect(during.status).toBe('running');
    expect(await waitForJob(cp, run, 120_000)).toMatchObject({ status: 'completed' });
    expect((await cp.ok('list_index_items', { index: 'race', prefix: 'f000', limit: 10 })).items).toEqual([]);
    // Nothing changes in Drive from here: the index is not as the last run left it, so a tick runs.
    const after = await automation(cp, a.id);
    await until('three more ticks', async () => {
      const v = await automation(cp, a.id);
      return v.runs + v.skipped >= after.runs + after.skipped + 3;
    });
    const v = await automation(cp, a.id);
    await cp.ok('update_automation', { automation_id: a.id, enabled: false });
    if (v.last_job_id !== run) await waitForJob(cp, v.last_job_id, 120_000);
    const keys = (await cp.ok('list_index_items', { index: 'race', prefix: 'f000', limit: 10 })).items.map((i: { key: string }) => i.key);
    expect({ runs: v.runs - after.runs, skipped: v.skipped - after.skipped, keys }).toMatchObject({ keys: ['f000.txt'] });
  });
});
