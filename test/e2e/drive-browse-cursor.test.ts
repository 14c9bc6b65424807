import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { driveServiceAccount } from '../helpers/drive.js';
import { uniqueName } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/**
 * browse_connector's cursor over a large Drive folder: when files before the cursor
 * are added or trashed between two pages, the next page neither repeats a key already given nor skips
 * one that was there all along (the cursor resumes after the last key, not at an index into a provider
 * page read again).
 */
describe('google_drive browse cursor while the folder changes', () => {
  let drive: any;
  let cp: Running;
  let json: string;
  beforeAll(async () => {
    drive = await startDriveServer();
    json = driveServiceAccount(drive, 'qa-drv-cursor@test.iam.gserviceaccount.com');
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await drive?.stop();
  });

  const setup = async () => {
    const root = drive.addFolder({ name: uniqueName('many') });
    const ids: string[] = [];
    for (let i = 0; i < 250; i++) ids.push(drive.addFile({ name: `f${String(i).padStart(3, '0')}.txt`, parent: root, data: 'x' }));
    const conn = (await cp.ok('create_connector', { name: uniqueName(), provider: 'google_drive', endpoint: drive.url, root_folder_id: root, credentials: { type: 'service_account', json } })).connector.id;
    const first = await cp.ok('browse_connector', { connector_id: conn, limit: 100 });
    expect(first.objects.at(-1).key).toBe('f099.txt');
    return { root, ids, conn, cursor: first.next_cursor as string, firstKeys: first.objects.map((o: { key: string }) => o.key) as string[] };
  };
  const rest = async (conn: string, cursor: string | null) => {
    const keys: string[] = [];
    while (cursor) {
      const p = await cp.ok('browse_connector', { connector_id: conn, limit: 100, cursor });
      keys.push(...p.objects.map((o: { key: string }) => o.key));
      cursor = p.next_cursor;
    }
    return keys;
  };

  it('a file trashed before the cursor does not make the next page skip an unchanged file', async () => {
    const { ids, conn, cursor } = await setup();
    drive.trash(ids[10]);
    const keys = await rest(conn, cursor);
    expect(keys[0]).toBe('f100.txt');
    expect(keys).toHaveLength(150);
  });

  it('a file added before the cursor does not make the next page repeat a key', async () => {
    const { root, conn, cursor, firstKeys } = await setup();
    drive.addFile({ name: 'f000a.txt', parent: root, data: 'new' });
    const keys = await rest(conn, cursor);
    expect(keys.filter((k) => firstKeys.includes(k))).toEqual([]);
    expect(keys).toHaveLength(150);
  });
});
