import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allFiles, sleep, startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { sha256, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * An export stopped with SIGTERM (a restart, a deploy) while three PUTs have reached the bucket and their
 * answers are held back: the clean stop hands the files back without counting the attempt, and the next
 * process, finding in the bucket exactly what this export wrote, counts those files `exported`, as it
 * does after SIGKILL (durability-edges.test.ts), not `skipped`.
 */
describe('export stopped with SIGTERM after its PUTs landed', () => {
  let env: S3Env;
  const cps: Running[] = [];
  beforeAll(async () => {
    env = await startS3Env(['rs-src', 'rs-dst']);
    for (let i = 0; i < 20; i++) await env.s3.put('rs-src', `e/${i}.txt`, `export me ${i}`, { contentType: 'text/plain' });
  });
  afterAll(async () => {
    for (const cp of cps) await cp.close().catch(() => {});
    await env?.stop();
  });

  it('counts the files it wrote as exported after the restart, not skipped', async () => {
    const dataDir = tempDir();
    const opts = { args: ['--workers', '4'], env: { CLOUDPORT_LEASE_MS: '3000', CLOUDPORT_EXTRACT: 'off' } };
    let cp = await startCloudport({ dataDir, ...opts });
    const src = (await cp.ok('create_connector', env.connector('rs-src'))).connector.id;
    const dst = (await cp.ok('create_connector', env.connector('rs-dst', { scopes: ['import', 'export'], export_base_path: 'out/' }))).connector.id;
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'exp', prefix: 'e/' })).job_id);
    // Three PUTs land in the bucket exactly as cloudport writes them (same bytes, sha256 metadata); their answers never come.
    const landed: number[] = [];
    for (const i of [3, 7, 11]) {
      const body = `export me ${i}`;
      env.proxy.addFault({
        match: { op: 'PutObject', keyIncludes: `out/e/${i}.txt` },
        times: 1,
        action: {
          type: 'before',
          run: async () => {
            await env.s3.put('rs-dst', `out/e/${i}.txt`, body, { contentType: 'text/plain', metadata: { sha256: sha256(body) } } as never);
            landed.push(i);
            await new Promise(() => {});
          },
        },
      });
    }
    const ex = await cp.ok('start_export', { index: 'exp', connector_id: dst });
    for (let i = 0; i < 600 && landed.length < 3; i++) await sleep(50);
    expect(landed).toHaveLength(3);
    // A clean stop (SIGTERM), as a deploy or `systemctl restart` does.
    const exited = new Promise<void>((r) => cp.client.transport!.onclose = () => r());
    process.kill(cp.pid!, 'SIGTERM');
    await exited;
    await cp.close().catch(() => {});
    env.proxy.clearFaults();
    cp = await startCloudport({ dataDir, ...opts });
    cps.push(cp);
    const s = await waitForJob(cp, ex.job_id);
    const skipped = (await allFiles(cp, ex.job_id)).filter((f) => f.status === 'skipped').map((f) => f.key);
    expect(skipped, 'files this export wrote itself, counted as already there').toEqual([]);
    expect(s.counts).toEqual({ pending: 0, exported: 20, skipped: 0, failed: 0, canceled: 0 });
  });
});
