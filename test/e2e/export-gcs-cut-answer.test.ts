import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProvider } from '../../src/providers/index.js';
import type { StorageProvider } from '../../src/providers/types.js';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { bytes, sha256, uniqueName } from '../helpers/s3env.js';
import { gcsFixture } from '../providers/gcs.fixture.js';

/**
 * README "Exports" / "Semantics": a write whose answer is lost (the connection cut after the answer's
 * headers) is tried again, and a file tried again counts as `exported` when its target holds the item's
 * exact content. On GCS this checks that an export whose PUT answer is cut ends (the file exported, the
 * job final) instead of staying `running` with the file `pending` forever; and that a large item (a
 * resumable upload) whose first request's answer is cut is tried again ("Temporary errors are retried
 * like downloads") rather than failing at once with "storage request failed: error".
 */
const fx = gcsFixture();
let cp: Running;
let dst: StorageProvider;
let dstConn: string;
const small = Buffer.from('small body\n');
const big = bytes(12 * 1024 * 1024 + 3, 5);

async function readAll(p: StorageProvider, key: string): Promise<Buffer> {
  const r = await p.read(key);
  const chunks: Buffer[] = [];
  for await (const c of r.body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  await fx.start();
  const src = await fx.createBucket();
  const dstBucket = await fx.createBucket();
  await fx.put(src, 'small.txt', small, 'text/plain');
  await fx.put(src, 'big.bin', big, 'application/octet-stream');
  const input = fx.connectorInput(dstBucket);
  const def = getProvider('gcs');
  dst = await def.open(def.validateLocation({ ...input }), input.credentials as never, { maxSockets: 4, connectTimeoutMs: 5000 });
  cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_IDLE_TIMEOUT_MS: '1000' } });
  const srcConn = (await cp.ok('create_connector', { name: uniqueName('src'), ...fx.connectorInput(src) })).connector.id;
  dstConn = (await cp.ok('create_connector', { name: uniqueName('dst'), ...input, scopes: ['export'], export_base_path: 'out/' })).connector.id;
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: srcConn, index: 'i' })).job_id);
}, 60_000);
afterAll(async () => {
  dst?.close();
  await cp?.close();
  await fx.stop();
});

describe('gcs export: the answer of a write is cut', () => {
  for (const [key, body] of [['small.txt', small]] as const) {
    for (const overwrite of ['never', 'always'] as const) {
      it(`${key}, overwrite ${overwrite}: the job ends and the file counts as exported with its bytes in the bucket`, async () => {
        const template = `${overwrite}/{key}`;
        fx.addFault({ op: 'put', keyIncludes: `${overwrite}/${key}`, times: 1, action: { type: 'cut', afterBytes: 0 } });
        try {
          const r = await cp.ok('start_export', { index: 'i', connector_id: dstConn, keys: [key], path_template: template, overwrite });
          const final = await waitForJob(cp, r.job_id, 30_000);
          expect(final).toMatchObject({ status: 'completed', counts: { exported: 1, failed: 0, pending: 0 } });
          expect(sha256(await readAll(dst, `out/${overwrite}/${key}`))).toBe(sha256(body));
        } finally {
          fx.clearFaults();
        }
      }, 45_000);
    }
  }
});

describe('gcs export: the answer of a resumable upload\'s first request is cut', () => {
  it('big.bin: the write is tried again and the file counts as exported with its bytes in the bucket', async () => {
    fx.addFault({ op: 'put', keyIncludes: 'resumable/big.bin', times: 1, action: { type: 'cut', afterBytes: 0 } });
    try {
      const r = await cp.ok('start_export', { index: 'i', connector_id: dstConn, keys: ['big.bin'], path_template: 'resumable/{key}', overwrite: 'always' });
      const final = await waitForJob(cp, r.job_id, 30_000);
      const failed = await cp.ok('import_status', { job_id: r.job_id, files_status: 'failed' });
      expect(failed.files).toEqual([]);
      expect(final).toMatchObject({ status: 'completed', counts: { exported: 1, failed: 0 } });
      expect(sha256(await readAll(dst, 'out/resumable/big.bin'))).toBe(sha256(big));
    } finally {
      fx.clearFaults();
    }
  }, 45_000);
});
