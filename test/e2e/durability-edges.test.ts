import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allFiles, sleep, startCloudport, tempDir, waitForJob, waitUntil, type Running } from '../helpers/cloudport.js';
import { sha256, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Edges of durable jobs, driven over stdio against fauxqs behind our fault proxy: a body cut short
 * under the listed etag (a multipart object has no MD5 to catch it) fails the file; a canceled job's
 * log says it ended; an export whose writes landed before its process died counts them as exported.
 */

async function logMessages(cp: Running, jobId: string): Promise<string[]> {
  const r = await cp.ok('import_logs', { job_id: jobId, limit: 1000 });
  return (r.entries as { message: string }[]).map((e) => e.message);
}

describe('durable job edges', () => {
  let env: S3Env;
  const cps: Running[] = [];

  beforeAll(async () => {
    env = await startS3Env(['edge-src', 'edge-dst']);
  });
  afterAll(async () => {
    for (const cp of cps) await cp.close().catch(() => {});
    await env?.stop();
  });

  it('a body shorter than the listed size (same ETag) is not stored as a complete item: multipart objects have no MD5 to catch it', async () => {
    // ~6.6 MB: fauxqs stores it as a multipart upload, so its ETag ("…-2") is no MD5 of the content.
    const big = Buffer.from('multipart text line\n'.repeat(330_000));
    await env.s3.put('edge-src', 'mp/trunc.txt', big, { contentType: 'text/plain' });
    await env.s3.put('edge-src', 'mp/ok.txt', 'fine', { contentType: 'text/plain' });
    const cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_EXTRACT: 'off' } });
    cps.push(cp);
    const connector = (await cp.ok('create_connector', env.connector('edge-src'))).connector.id;
    // A middlebox answers the GET with the first 1000 bytes and a matching Content-Length; ETag and the
    // rest of the headers are the object's own. The listing said 6,600,000 bytes.
    env.proxy.addFault({ match: { op: 'GetObject', keyIncludes: 'mp/trunc.txt' }, times: Infinity, action: { type: 'transform', fn: (s: string) => s.slice(0, 1000) } });
    try {
      const job = await cp.ok('start_import', { connector_id: connector, index: 'trunc', prefix: 'mp/' });
      await waitForJob(cp, job.job_id);
      const files = await allFiles(cp, job.job_id);
      const f = files.find((x) => x.key === 'mp/trunc.txt')! as { status: string; size?: number; error?: string };
      const items = (await cp.ok('list_index_items', { index: 'trunc', limit: 100 })).items as { key: string; size: number; sha256: string }[];
      const item = items.find((i) => i.key === 'mp/trunc.txt');
      // The file fails, naming both sizes; nothing is stored under the key as if it were the whole object.
      expect(f.status, JSON.stringify(f)).toBe('failed');
      expect(f.error).toMatch(/answered as 1000 bytes under the etag it was listed with at 6600000 bytes/);
      expect(item).toBeUndefined();
      expect(files.find((x) => x.key === 'mp/ok.txt')?.status).toBe('ready');
    } finally {
      env.proxy.clearFaults();
    }
  });

  it('cancel_import leaves an end entry in import_logs, as every other final state does', async () => {
    const puts: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) puts.push(env.s3.put('edge-src', `c/${String(i).padStart(4, '0')}.txt`, `cancel ${i}`, { contentType: 'text/plain' }));
    await Promise.all(puts);
    const cp = await startCloudport({ dataDir: tempDir(), args: ['--workers', '2'], env: { CLOUDPORT_EXTRACT: 'off' } });
    cps.push(cp);
    const connector = (await cp.ok('create_connector', env.connector('edge-src'))).connector.id;
    env.proxy.setDelays({ GetObject: 30 });
    try {
      const job = await cp.ok('start_import', { connector_id: connector, index: 'stopme', prefix: 'c/' });
      await waitUntil(cp, job.job_id, (s) => s.counts.ready >= 5, '5 ready');
      const s = await cp.ok('cancel_import', { job_id: job.job_id });
      expect(s.status).toBe('canceled');
      const msgs = await logMessages(cp, job.job_id);
      expect(msgs[msgs.length - 1], JSON.stringify(msgs)).toMatch(/^import canceled: \d+ ready, .*\d+ canceled/);
      expect(msgs.filter((m) => m.startsWith('import canceled')), 'one end line').toHaveLength(1);
    } finally {
      env.proxy.setDelays({});
    }
  });

  // SIGKILL, or a clean stop (SIGTERM: a deploy, `systemctl restart`), which hands the files back
  // without counting the attempt: either way the next process counts what this export wrote as exported.
  it.each(['SIGKILL', 'SIGTERM'] as const)('an export stopped (%s) after its PUT reached the bucket but before the answer counts those files as exported after restart, not skipped', async (signal) => {
    for (let i = 0; i < 20; i++) await env.s3.put('edge-src', `e/${i}.txt`, `export me ${i}`, { contentType: 'text/plain' });
    const dataDir = tempDir();
    const leaseEnv = { CLOUDPORT_LEASE_MS: '3000', CLOUDPORT_EXTRACT: 'off' };
    const base = `out-${signal}/`;
    let cp = await startCloudport({ dataDir, args: ['--workers', '4'], env: leaseEnv });
    const src = (await cp.ok('create_connector', env.connector('edge-src'))).connector.id;
    const dst = (await cp.ok('create_connector', env.connector('edge-dst', { scopes: ['import', 'export'], export_base_path: base }))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'exp', prefix: 'e/' })).job_id);
    // For three files the object lands in the bucket exactly as cloudport writes it (same bytes, its
    // sha256 metadata), and the answer never comes back: then the process is stopped.
    const landed: number[] = [];
    for (const i of [3, 7, 11]) {
      const body = `export me ${i}`;
      env.proxy.addFault({
        match: { op: 'PutObject', keyIncludes: `${base}e/${i}.txt` },
        times: 1,
        action: {
          type: 'before',
          run: async () => {
            await env.s3.put('edge-dst', `${base}e/${i}.txt`, body, { contentType: 'text/plain', metadata: { sha256: sha256(body) } } as never);
            landed.push(i);
            await new Promise(() => {});
          },
        },
      });
    }
    const ex = await cp.ok('start_export', { index: 'exp', connector_id: dst });
    for (let i = 0; i < 600 && landed.length < 3; i++) await sleep(50);
    expect(landed).toHaveLength(3);
    const exited = new Promise<void>((r) => (cp.client.transport!.onclose = () => r()));
    process.kill(cp.pid!, signal);
    if (signal === 'SIGTERM') await exited;
    await cp.close().catch(() => {});
    env.proxy.clearFaults();
    cp = await startCloudport({ dataDir, args: ['--workers', '4'], env: leaseEnv });
    cps.push(cp);
    const s = await waitForJob(cp, ex.job_id);
    const skipped = (await allFiles(cp, ex.job_id)).filter((f) => f.status === 'skipped').map((f) => f.key);
    expect(skipped, 'files this export wrote itself, counted as already there').toEqual([]);
    expect(s.counts).toEqual({ pending: 0, exported: 20, skipped: 0, failed: 0, canceled: 0 });
  });
});
