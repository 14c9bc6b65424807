import { createHash, generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProvider } from '../../src/providers/index.js';
import type { StorageProvider } from '../../src/providers/types.js';
import { bytes } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startDriveServer } from '../support/drive-server.mjs';

/** Exports into Drive: large files and streams go up as resumable uploads, in chunks that survive a broken connection. */
describe('google_drive resumable uploads', () => {
  let drive: any;
  let p: StorageProvider;
  let root: string;
  const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');
  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const stored = (key: string): Buffer => {
    let parent = root;
    const segs = key.split('/');
    const name = segs.pop();
    for (const s of segs) parent = (drive.children(parent) as string[]).find((id) => drive.file(id).name === s)!;
    const id = (drive.children(parent) as string[]).find((i) => drive.file(i).name === name);
    return drive.file(id).data;
  };

  beforeAll(async () => {
    drive = await startDriveServer();
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    drive.addServiceAccount({ email: 'writer@test.iam.gserviceaccount.com', publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }) });
    root = drive.addFolder({ name: 'uploads' });
    const json = JSON.stringify({ type: 'service_account', client_email: 'writer@test.iam.gserviceaccount.com', private_key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), token_uri: drive.tokenUrl });
    const def = getProvider('google_drive');
    p = await def.open(def.validateLocation({ root_folder_id: root, endpoint: drive.url }), { type: 'service_account', json }, { maxSockets: 4, connectTimeoutMs: 5000 });
  });
  afterAll(async () => {
    p?.close();
    await drive?.stop();
  });

  it('a 20 MiB buffer goes up in 8 MiB chunks, byte-exact, checked against its MD5', async () => {
    const body = bytes(20 * 1024 * 1024 + 3, 41);
    drive.resetCounts();
    await p.write('big/one.bin', body, { contentType: 'application/octet-stream', md5: md5(body), sha256: sha256(body) });
    expect(drive.counts['upload.create']).toBe(1);
    expect(drive.counts['upload.chunk']).toBe(3);
    expect(stored('big/one.bin').equals(body)).toBe(true);
    expect((await p.stat('big/one.bin')).sha256).toBe(sha256(body));
  });

  it('a stream whose connection breaks mid-chunk resumes from what Drive kept; a shorter stream than declared fails', async () => {
    const body = bytes(9 * 1024 * 1024 + 7, 42);
    drive.resetCounts();
    drive.addFault({ match: { op: 'upload.chunk' }, nth: 2, action: { type: 'reset' } });
    await p.write('big/two.bin', Readable.from([body.subarray(0, 5_000_000), body.subarray(5_000_000)]), { size: body.length, md5: md5(body) });
    drive.clearFaults();
    expect(stored('big/two.bin').equals(body)).toBe(true);
    // 2 chunks + the broken one + a status query.
    expect(drive.counts['upload.chunk']).toBe(4);
    await expect(p.write('big/short.bin', Readable.from([Buffer.alloc(100)]), { size: 200 })).rejects.toThrow(/held 100 bytes, not the 200 declared/);
  });

  it('overwrites an existing file in place (one file, new bytes) and refuses with ifAbsent', async () => {
    const v2 = bytes(6 * 1024 * 1024, 43);
    await p.write('big/one.bin', v2, { md5: md5(v2) });
    expect(stored('big/one.bin').equals(v2)).toBe(true);
    const folder = (drive.children(root) as string[]).find((id) => drive.file(id).name === 'big')!;
    expect((drive.children(folder) as string[]).filter((id) => drive.file(id).name === 'one.bin')).toHaveLength(1);
    await expect(p.write('big/one.bin', Buffer.from('x'), { ifAbsent: true })).rejects.toMatchObject({ kind: 'conflict' });
  });

  it('a body of exactly 8 MiB (one whole chunk) and an empty stream go up; a source that fails midway is released and named', async () => {
    const eight = bytes(8 * 1024 * 1024, 44);
    await p.write('exact/eight.bin', Readable.from([eight.subarray(0, 3_000_000), eight.subarray(3_000_000)]), { size: eight.length, md5: md5(eight) });
    expect(stored('exact/eight.bin').equals(eight)).toBe(true);
    await p.write('exact/empty.bin', Readable.from([]), { size: 0 });
    expect(stored('exact/empty.bin').length).toBe(0);
    // The source fails after its first 9 MiB, and (second case) before the upload session is even open.
    const broken = new Readable({ read() {} });
    broken.push(Buffer.alloc(9 * 1024 * 1024, 1));
    const writing = p.write('exact/broken.bin', broken, { size: 20 * 1024 * 1024 });
    broken.destroy(new Error('disk went away'));
    await expect(writing).rejects.toThrow(/reading the content to upload failed: disk went away/);
    expect(broken.destroyed).toBe(true);
    const early = new Readable({ read() {} });
    drive.addFault({ match: { op: 'upload.create' }, action: { type: 'status', status: 500 } });
    const failing = p.write('exact/early.bin', early, { size: 10 });
    early.destroy(new Error('gone before the session'));
    await expect(failing).rejects.toMatchObject({ kind: 'unexpected' });
    drive.clearFaults();
  });
});
