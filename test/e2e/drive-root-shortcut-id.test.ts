import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
import { uniqueName } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * A root_folder_id that is the id of a shortcut to a folder (what a user copies from a shortcut in
 * their My Drive) either connects the folder the shortcut leads to (shortcuts are followed, README),
 * or is refused on root_folder_id with a fix that names the folder's own id, so the agent can retry;
 * it is not called "a file, not a folder" with a fix that gives nothing to act on.
 */
describe('google_drive: root_folder_id of a shortcut', () => {
  let drive: any;
  let cp: Running;
  let json: string;
  beforeAll(async () => {
    drive = await startDriveServer();
    json = driveServiceAccount(drive, 'qa-sc@test.iam.gserviceaccount.com');
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  it('connects the target folder, or names its id in the fix', async () => {
    const target = drive.addFolder({ name: 'Team docs' });
    drive.addFile({ name: 't.txt', parent: target, data: 'team' });
    const shortcut = drive.addShortcut({ name: 'Team docs', parent: drive.rootId, targetId: target });
    const r = await cp.call('create_connector', { name: uniqueName(), provider: 'google_drive', root_folder_id: shortcut, endpoint: drive.url, credentials: { type: 'service_account', json } });
    if (r.isError) {
      expect(r.data.error.field, r.text).toBe('root_folder_id');
      expect(r.data.error.fix, r.text).toContain(target);
    } else {
      const page = await cp.ok('browse_connector', { connector_id: r.data.connector.id });
      expect(page.objects.map((o: any) => o.key)).toEqual(['t.txt']);
    }
  });
});
