import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Adaptive concurrency end to end: small objects behind our proxy, which holds every GET 100 ms before
 * it goes on (a distant region's time to first byte). Without --workers the server raises the files it
 * works at once past 16; with --workers 16 it keeps to 16. What is asserted is the most GETs the proxy
 * saw open at once, not a time.
 */
describe('files at once adapt to a distant service unless --workers is given', () => {
  let env: S3Env;
  const running: Running[] = [];
  const FILES = 640;

  beforeAll(async () => {
    env = await startS3Env(['far']);
    for (let i = 0; i < FILES; i += 64) await Promise.all(Array.from({ length: 64 }, (_, j) => env.s3.put('far', `f/${String(i + j).padStart(4, '0')}.txt`, `file ${i + j}\n`)));
    env.proxy.setDelays({ GetObject: 100 });
  });
  afterAll(async () => {
    for (const cp of running) await cp.close();
    await env?.stop();
  });

  const importAll = async (args: string[]) => {
    const cp = await startCloudport({ dataDir: tempDir(), args: [...args, '--log-level', 'debug'] });
    running.push(cp);
    const conn = (await cp.ok('create_connector', env.connector('far'))).connector.id;
    env.proxy.resetCounts();
    const j = await cp.ok('start_import', { connector_id: conn, index: 'far' });
    const s = await waitForJob(cp, j.job_id);
    expect(s.counts).toMatchObject({ ready: FILES, failed: 0 });
    return { peak: env.proxy.peak.GetObject ?? 0, log: cp.stderr() };
  };

  it('defaults: more than 16 GETs at once, the change logged', async () => {
    const { peak, log } = await importAll([]);
    expect(peak).toBeGreaterThan(16);
    expect(peak).toBeLessThanOrEqual(64);
    expect(log).toContain('concurrency: limit changed');
  });

  it('--workers 16: never more than 16 GETs at once', async () => {
    const { peak, log } = await importAll(['--workers', '16']);
    expect(peak).toBeLessThanOrEqual(16);
    expect(peak).toBeGreaterThan(8);
    expect(log).not.toContain('concurrency: limit changed');
  });
});
