import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
import { uniqueName } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * A key that lies more than 100 folders below the root only because a shortcut leads into another
 * tree (each real tree within Drive's nesting limit) is importable: browse_connector refuses the whole
 * listing with the fix "a deeper prefix", and following that fix, the listed file imports (by prefix
 * and by its exact key), rather than the job accepting it and then failing it as "not found".
 */
describe('google_drive: keys deeper than 100 segments through a shortcut', () => {
  let drive: any;
  let cp: Running;
  let json: string;
  beforeAll(async () => {
    drive = await startDriveServer();
    json = driveServiceAccount(drive, 'qa-deep@test.iam.gserviceaccount.com');
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  it('a file listed under a deeper prefix imports by that prefix and by its key', async () => {
    const root = drive.addFolder({ name: 'deeproot' });
    let p = root;
    const segs: string[] = [];
    for (let i = 1; i <= 60; i++) {
      p = drive.addFolder({ name: `L${i}`, parent: p });
      segs.push(`L${i}`);
    }
    const other = drive.addFolder({ name: 'X' });
    let q = other;
    const segs2: string[] = [];
    for (let i = 1; i <= 45; i++) {
      q = drive.addFolder({ name: `M${i}`, parent: q });
      segs2.push(`M${i}`);
    }
    drive.addFile({ name: 'bottom.txt', parent: q, data: 'bottom via shortcut' });
    drive.addShortcut({ name: 'S', parent: p, targetId: other });
    const conn = (await cp.ok('create_connector', { name: uniqueName(), provider: 'google_drive', root_folder_id: root, endpoint: drive.url, credentials: { type: 'service_account', json } })).connector.id;
    const key = [...segs, 'S', ...segs2, 'bottom.txt'].join('/');

    // The whole listing is refused with a fix: a deeper prefix.
    const whole = await cp.call('browse_connector', { connector_id: conn });
    expect(whole.data.error?.field, whole.text).toBe('prefix');

    const prefix = segs.slice(0, 20).join('/') + '/';
    const page = await cp.ok('browse_connector', { connector_id: conn, prefix });
    expect(page.objects.map((o: any) => o.key)).toEqual([key]);

    const index = uniqueName('deep');
    const imp = await cp.ok('start_import', { connector_id: conn, index, prefix });
    expect(imp.accepted).toBe(1);
    const done = await waitForJob(cp, imp.job_id);
    expect({ status: done.status, counts: done.counts }, JSON.stringify(done)).toMatchObject({ status: 'completed', counts: { ready: 1, failed: 0 } });

    const byKey = await cp.call('start_import', { connector_id: conn, index: uniqueName('deepk'), keys: [key] });
    expect(byKey.isError, byKey.text.slice(0, 300)).toBe(false);
    expect(byKey.data.accepted).toBe(1);
  });
});
