import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, tempFiles, waitForJob, type Running } from '../helpers/cloudport.js';
import { bytes, KEY_ID, SECRET, sha256, startS3Env, uniqueName, type S3Env } from '../helpers/s3env.js';
import { azureFixture } from '../providers/azure-blob.fixture.js';

/**
 * Fault cases beyond the provider contract suite (which runs corruption, overwrite-during-resume,
 * throttling and non-retryable answers against every provider): clock skew and vanished objects,
 * a connector whose credentials break mid-import, and a full disk. S3 (fauxqs) behind our fault
 * proxy, the built server over stdio through the MCP SDK client; loopback only.
 */

const WRONG_KEY_ID = 'AKIAWRONGWRONGWRONG1';

/** A real ENOSPC needs a small filesystem: a tmpfs mounted as the data dir (root only; skipped otherwise). */
function canMountTmpfs(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const dir = tempDir('cloudport-mount-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const TMPFS = canMountTmpfs();

describe('import faults over stdio against S3 (fauxqs behind the fault proxy)', () => {
  let env: S3Env;
  let cp: Running;

  beforeAll(async () => {
    env = await startS3Env(['skew', 'auth', 'disk']);
    // The idle timeout also bounds the wait for a response head: it stays above the 1.5 s the
    // credentials case holds its first GETs for.
    cp = await startCloudport({ dataDir: tempDir(), args: ['--concurrency', '2'], env: { CLOUDPORT_IDLE_TIMEOUT_MS: '3000' } });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('clock skew and an object deleted after the listing fail their file at once, each with a clear error and one GET', async () => {
    for (const k of ['skew.txt', 'gone.txt', 'fine.txt']) await env.s3.put('skew', k, `content of ${k}`);
    const conn = (await cp.ok('create_connector', env.connector('skew'))).connector.id;
    env.proxy.resetCounts();
    env.proxy.addFault({
      match: { op: 'GetObject', keyIncludes: 'skew.txt' },
      times: 100,
      action: { type: 'status', status: 403, code: 'RequestTimeTooSkewed', message: 'The difference between the request time and the current time is too large.' },
    });
    env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'gone.txt' }, times: 100, action: { type: 'status', status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' } });
    const j = await cp.ok('start_import', { connector_id: conn, index: 'skew' });
    const s = await waitForJob(cp, j.job_id);
    env.proxy.clearFaults();
    expect(s).toMatchObject({ status: 'completed_with_errors', counts: { ready: 1, failed: 2 } });
    const failed = (await cp.ok('import_status', { job_id: j.job_id, files_status: 'failed' })).files;
    expect([...failed].sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      { key: 'gone.txt', status: 'failed', size: expect.any(Number), error: expect.stringMatching(/not found/) },
      { key: 'skew.txt', status: 'failed', size: expect.any(Number), error: expect.stringMatching(/clock/) },
    ]);
    expect(env.proxy.gets.filter((k) => k === 'skew.txt')).toHaveLength(1);
    expect(env.proxy.gets.filter((k) => k === 'gone.txt')).toHaveLength(1);
    const logs = (await cp.ok('import_logs', { job_id: j.job_id })).entries.map((e: { message: string }) => e.message).join('\n');
    expect(logs).toMatch(/clock/);
  });

  it('credentials that break mid-import: 5 failures make the connector FAILED, and its queued work ends with that reason instead of hammering the bucket', async () => {
    for (let i = 0; i < 16; i++) await env.s3.put('auth', `a/${String(i).padStart(2, '0')}.txt`, `auth file ${i}`);
    for (let i = 0; i < 4; i++) await env.s3.put('auth', `b/${i}.txt`, `second job file ${i}`);
    const conn = (await cp.ok('create_connector', env.connector('auth'))).connector.id;
    env.proxy.resetCounts();
    // S3's answer to a key id it does not know, for every request signed with it.
    env.proxy.addFault({
      match: { credential: WRONG_KEY_ID },
      times: 100_000,
      action: { type: 'status', status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' },
    });
    // Hold the first GETs (one per download slot) until both jobs are queued and the credentials
    // changed, and past the workers' 1 s connector cache: later files are signed with the new key.
    env.proxy.addFault({ match: { op: 'GetObject' }, times: 2, action: { type: 'before', run: () => new Promise((r) => setTimeout(r, 1500)) } });
    const j1 = await cp.ok('start_import', { connector_id: conn, index: 'auth1', prefix: 'a/' });
    const j2 = await cp.ok('start_import', { connector_id: conn, index: 'auth2', prefix: 'b/' });
    expect([j1.accepted, j2.accepted]).toEqual([16, 4]);
    // A wrong key pasted in (saved without validation): every request it signs is refused.
    await cp.ok('update_connector', { connector_id: conn, validate: false, credentials: { type: 'access_key', access_key_id: WRONG_KEY_ID, secret_access_key: SECRET } });
    const s1 = await waitForJob(cp, j1.job_id);
    const s2 = await waitForJob(cp, j2.job_id);

    const c = (await cp.ok('get_connector', { connector_id: conn })).connector;
    expect(c).toMatchObject({ status: 'FAILED', consecutive_failures: 5 });
    expect(c.last_error).toMatch(/access key id is not known/);
    const files = [
      ...(await cp.ok('import_status', { job_id: j1.job_id, files_status: 'all', limit: 100 })).files,
      ...(await cp.ok('import_status', { job_id: j2.job_id, files_status: 'all', limit: 100 })).files,
    ];
    const authFailed = files.filter((f: { error?: string }) => /access key id is not known/.test(f.error ?? '') && !f.error!.startsWith('connector FAILED'));
    const stopped = files.filter((f: { error?: string }) => f.error?.startsWith('connector FAILED: '));
    // FAIL_AFTER files were tried with the broken key (plus at most the one other download in flight
    // when the connector went FAILED); nothing else reached the bucket with it.
    expect(authFailed.length).toBeGreaterThanOrEqual(5);
    expect(authFailed.length).toBeLessThanOrEqual(6);
    expect(stopped.length).toBeGreaterThan(0);
    for (const f of stopped) expect(f.error).toContain(c.last_error);
    expect(authFailed.length + stopped.length + files.filter((f: { status: string }) => f.status === 'ready').length).toBe(20);
    expect(s2).toMatchObject({ status: 'failed', counts: { ready: 0, failed: 4, pending: 0 } });
    expect(s1.counts.pending).toBe(0);
    expect(s1.counts.ready + s1.counts.failed).toBe(16);
    const ready = files.filter((f: { status: string }) => f.status === 'ready').length;
    expect(env.proxy.counts.GetObject - ready).toBe(authFailed.length);
    const refused = await cp.call('start_import', { connector_id: conn, index: 'auth3', prefix: 'a/' });
    expect(refused.data.error).toMatchObject({ kind: 'conflict' });
    expect(refused.text).toMatch(/FAILED/);

    // Fixed: the right key again (validated), a passing test makes it ACTIVE, and retry_of fetches the rest.
    env.proxy.clearFaults();
    await cp.ok('update_connector', { connector_id: conn, credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET } });
    expect(await cp.ok('test_connector', { connector_id: conn })).toMatchObject({ success: true, status: 'ACTIVE' });
    expect((await cp.ok('get_connector', { connector_id: conn })).connector).toMatchObject({ status: 'ACTIVE', consecutive_failures: 0, last_error: null });
    const retry = await cp.ok('start_import', { retry_of: j2.job_id });
    expect(await waitForJob(cp, retry.job_id)).toMatchObject({ status: 'completed', counts: { ready: 4 } });
  });

  it.skipIf(!TMPFS)('a full disk (ENOSPC on a small tmpfs data dir) fails that file with a clear error; the job reports it; nothing partial stays', async () => {
    const dataDir = tempDir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', dataDir]);
    let disk: Running | undefined;
    try {
      const huge = bytes(6 * 1024 * 1024, 77);
      const small = Buffer.from('small enough\n');
      await env.s3.put('disk', 'huge.bin', huge);
      await env.s3.put('disk', 'small.txt', small);
      disk = await startCloudport({ dataDir, args: ['--concurrency', '1'] });
      const conn = (await disk.ok('create_connector', env.connector('disk'))).connector.id;
      env.proxy.resetCounts();
      const j = await disk.ok('start_import', { connector_id: conn, index: 'disk' });
      const s = await waitForJob(disk, j.job_id);
      expect(s).toMatchObject({ status: 'completed_with_errors', counts: { ready: 1, failed: 1, pending: 0 } });
      const failed = (await disk.ok('import_status', { job_id: j.job_id, files_status: 'failed' })).files;
      expect(failed).toHaveLength(1);
      expect(failed[0].key).toBe('huge.bin');
      expect(failed[0].error).toContain('ENOSPC');
      expect(failed[0].error).toMatch(new RegExp(`data dir \\(${path.join(dataDir, 'incoming')}/[0-9a-f]\\)`));
      // Not retried: a full disk is not the storage service's fault.
      expect(env.proxy.gets.filter((k) => k === 'huge.bin')).toHaveLength(1);
      const logs = (await disk.ok('import_logs', { job_id: j.job_id })).entries.map((e: { message: string }) => e.message).join('\n');
      expect(logs).toMatch(/ENOSPC/);
      expect(logs).toMatch(/completed_with_errors: 1 ready, 0 deduped, 0 skipped, 1 failed/);
      const items = (await disk.ok('list_index_items', { index: 'disk' })).items;
      expect(items).toEqual([expect.objectContaining({ key: 'small.txt', sha256: sha256(small) })]);
      expect(tempFiles(dataDir)).toEqual([]);
      const blobFiles = fs.readdirSync(path.join(dataDir, 'blobs'), { recursive: true }).filter((n) => /[0-9a-f]{64}$/.test(String(n)));
      expect(blobFiles.map((n) => path.basename(String(n)))).toEqual([sha256(small)]);
      // The space is free again: once there is room (here: a smaller file under the same key), the retry succeeds.
      const fits = bytes(512 * 1024, 78);
      await env.s3.put('disk', 'huge.bin', fits);
      const retry = await disk.ok('start_import', { retry_of: j.job_id });
      expect(await waitForJob(disk, retry.job_id)).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    } finally {
      await disk?.close();
      try {
        execFileSync('umount', [dataDir]);
      } catch {
        execFileSync('umount', ['-l', dataDir]);
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('credentials that break mid-import against azurite (which checks the account key itself)', () => {
  const fx = azureFixture();
  let cp: Running;
  beforeAll(async () => {
    await fx.start();
    cp = await startCloudport({ dataDir: tempDir(), args: ['--concurrency', '1'] });
  });
  afterAll(async () => {
    await cp?.close();
    await fx.stop();
  });

  it('a wrong account key: 5 real AuthenticationFailed answers, then the connector is FAILED and the rest of the job stops', async () => {
    const b = await fx.createBucket();
    for (let i = 0; i < 10; i++) await fx.put(b, `f${i}.txt`, `blob ${i}`);
    const input = fx.connectorInput(b);
    const conn = (await cp.ok('create_connector', { name: uniqueName(), ...input })).connector.id;
    fx.resetCounts();
    // Hold the first GET past the worker's 1 s connector cache, so the next files use the new key.
    fx.addFault({ op: 'get', times: 1, action: { type: 'before', run: () => new Promise((r) => setTimeout(r, 1500)) } });
    const j = await cp.ok('start_import', { connector_id: conn, index: 'az-auth' });
    expect(j.accepted).toBe(10);
    const wrong = Buffer.from('not-the-account-key-at-all-0123456789').toString('base64');
    await cp.ok('update_connector', { connector_id: conn, validate: false, credentials: { type: 'account_key', account_key: wrong } });
    const s = await waitForJob(cp, j.job_id);
    const c = (await cp.ok('get_connector', { connector_id: conn })).connector;
    expect(c).toMatchObject({ status: 'FAILED', consecutive_failures: 5 });
    expect(s).toMatchObject({ status: 'completed_with_errors', counts: { ready: 1, failed: 9, pending: 0 } });
    const failed = (await cp.ok('import_status', { job_id: j.job_id, files_status: 'failed' })).files;
    expect(failed.filter((f: { error: string }) => !f.error.startsWith('connector FAILED: '))).toHaveLength(5);
    expect(failed.filter((f: { error: string }) => f.error === `connector FAILED: ${c.last_error}`)).toHaveLength(4);
    expect(fx.counts().get).toBe(1 + 5);
    expect(JSON.stringify(c)).not.toContain(wrong);
  });
});
