import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { sha256, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Reliability of the import job path: a file whose download kills the server each time (the attempt
 * cap), and a store that runs out of space mid-import. S3 (fauxqs) behind our fault proxy, the built
 * server over stdio; loopback only.
 */

const FINAL = ['completed', 'completed_with_errors', 'failed', 'canceled'];

describe('a file whose download kills the server each time', () => {
  let env: S3Env;
  beforeAll(async () => {
    env = await startS3Env(['poison']);
  });
  afterAll(async () => env?.stop());

  it('is tried CLOUDPORT_MAX_ATTEMPTS (5) times, then fails with "gave up after 5 attempts"; the job completes with the other files', async () => {
    const ok = ['a.txt', 'b.txt', 'c.txt'];
    for (const k of ok) await env.s3.put('poison', k, `content of ${k}`);
    await env.s3.put('poison', 'z-poison.bin', 'this download takes the server down');
    const dataDir = tempDir();
    // A short lease: a killed server's file is taken over soon after the restart.
    const start = () => startCloudport({ dataDir, args: ['--workers', '1'], env: { CLOUDPORT_LEASE_MS: '1000' } });
    let cp: Running = await start();
    let kills = 0;
    let killed = false;
    // The poisoned key's GET kills the server working on it (SIGKILL: no clean stop, no lease handed back).
    env.proxy.addFault({
      match: { op: 'GetObject', keyIncludes: 'z-poison.bin' },
      times: 1000,
      action: {
        type: 'before',
        run: () => {
          if (cp.pid) process.kill(cp.pid, 'SIGKILL');
          kills++;
          killed = true;
          return Promise.reject(new Error('server killed'));
        },
      },
    });
    const conn = (await cp.ok('create_connector', env.connector('poison'))).connector.id;
    const job = await cp.ok('start_import', { connector_id: conn, index: 'poison' });
    expect(job.accepted).toBe(4);
    let s: Record<string, any> = {};
    // Restart the server after each kill, until the job is final (today's code would restart forever: bounded here).
    for (let polls = 0; kills <= 8 && polls < 2000; polls++) {
      if (killed) {
        killed = false;
        await cp.close().catch(() => undefined);
        cp = await start();
        continue;
      }
      const r = await cp.call('import_status', { job_id: job.job_id }).catch(() => null);
      if (r && !r.isError) {
        s = r.data;
        if (FINAL.includes(s.status)) break;
      }
      await sleep(100);
    }
    expect(kills).toBe(5);
    expect(s).toMatchObject({ status: 'completed_with_errors', counts: { ready: 3, failed: 1, pending: 0 } });
    const failed = (await cp.ok('import_status', { job_id: job.job_id, files_status: 'failed' })).files;
    expect(failed).toEqual([expect.objectContaining({ key: 'z-poison.bin', error: expect.stringMatching(/^gave up after 5 attempts: its worker stopped or stalled/) })]);
    const logs = (await cp.ok('import_logs', { job_id: job.job_id })).entries.map((e: { message: string }) => e.message);
    expect(logs.filter((m: string) => m.startsWith('gave up after 5 attempts'))).toHaveLength(1);
    const items = (await cp.ok('list_index_items', { index: 'poison' })).items;
    expect(items.map((i: { key: string; sha256: string }) => [i.key, i.sha256])).toEqual(ok.map((k) => [k, sha256(`content of ${k}`)]));
    expect(env.proxy.gets.filter((k) => k === 'z-poison.bin')).toHaveLength(5);
    env.proxy.clearFaults();
    await cp.close();
  });
});
