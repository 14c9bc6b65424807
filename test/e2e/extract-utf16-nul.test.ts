import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { pgSchema } from '../helpers/pg.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A byte order mark alone does not make text: a UTF-16 file padded with NULs, or a UTF-32LE file (whose
 * mark FF FE 00 00 starts like UTF-16LE's), is not decoded as UTF-16 text full of U+0000, which
 * PostgreSQL would refuse; no extracted text holds a NUL on either store.
 */
const pgs = pgSchema('rv_utf16_nul');
const le = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
const utf32le = (s: string) => {
  const cps = [0xfeff, ...[...s].map((c) => c.codePointAt(0)!)];
  const b = Buffer.alloc(cps.length * 4);
  cps.forEach((c, i) => b.writeUInt32LE(c, i * 4));
  return b;
};

describe('UTF-16 (BOM) text holding NUL characters, on PostgreSQL', () => {
  let env: S3Env;
  let cp: Running;
  let job: Record<string, any>;
  beforeAll(async () => {
    env = await startS3Env(['u16']);
    await env.s3.put('u16', 'records.txt', le('id\u0000\u0000\u0000name\nPlatypusfield\u0000\u0000\u0000\n'), { contentType: 'text/plain' });
    await env.s3.put('u16', 'wide.txt', utf32le('Echidnaville report\n'), { contentType: 'text/plain' });
    cp = await startCloudport({ dataDir: tempDir(), args: ['--database-url', pgs.url()], env: { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') } });
    const id = (await cp.ok('create_connector', env.connector('u16'))).connector.id;
    job = await waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index: 'u16' })).job_id);
  }, 120_000);
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('imports both files (none failed)', async () => {
    const st = await cp.ok('import_status', { job_id: job.job_id, files_status: 'all' });
    expect(st.files.filter((f: { status: string }) => f.status === 'failed')).toEqual([]);
    expect(st.counts.failed).toBe(0);
  });

  it('read_item of the UTF-32 file does not show UTF-16-decoded text full of U+0000', async () => {
    const read = await cp.call('read_item', { index: 'u16', key: 'wide.txt' });
    expect(read.isError).toBe(false);
    expect(String(read.data.text ?? '')).not.toContain('\u0000');
  });
});
