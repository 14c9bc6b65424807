import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';
import { lyingDocxBomb } from '../helpers/documents.js';

/**
 * CLOUDPORT_EXTRACT_MAX_INFLATED_BYTES (64 MiB) is "what a DOCX or XLSX may inflate to (zip bombs)",
 * also for a DOCX whose directory claims 1000 bytes for word/document.xml while its data inflates to
 * 600 MiB: the check inflates it as a stream and stops at the limit, and the server's memory does not
 * grow by the bomb's size.
 */
const highWater = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const MiB = 1024 * 1024;

describe('a DOCX zip bomb whose directory lies about its size', () => {
  let env: S3Env;
  let cp: Running;
  let id: string;
  beforeAll(async () => {
    env = await startS3Env(['bombs']);
    const bomb = lyingDocxBomb(600 * MiB, 1000);
    expect(bomb.length).toBeLessThan(1 * MiB);
    await env.s3.put('bombs', 'warmup.docx', lyingDocxBomb(50_000, 1000));
    await env.s3.put('bombs', 'bomb.docx', bomb);
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_EXTRACT_THREADS: '1' } });
    id = (await cp.ok('create_connector', env.connector('bombs'))).connector.id;
    // A first DOCX loads the extraction worker and mammoth, so the baseline below includes them.
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'bombs', keys: ['warmup.docx'] })).job_id);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('is refused without inflating it past the inflated-size limit', async () => {
    const before = highWater(cp.pid!);
    const done = await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'bombs', keys: ['bomb.docx'] })).job_id, 110_000);
    expect(done.counts.failed).toBe(0);
    const read = await cp.ok('read_item', { index: 'bombs', key: 'bomb.docx' });
    expect(read.text_status).toBe('failed');
    // The limit is 64 MiB of inflated data; allow a generous margin over it.
    expect(highWater(cp.pid!) - before).toBeLessThan(256 * MiB);
  }, 120_000);
});
