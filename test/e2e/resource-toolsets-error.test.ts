/**
 * README (Toolsets): "Item resources (`cloudport://indexes/…`) are read_item's: without `indexes` they are
 * neither listed nor read." A server started with --toolsets that leave out `indexes` refuses to read a
 * well-formed item URI by saying why (the server's --toolsets lack `indexes`) and how to get it, as a
 * tool call outside the toolsets does; it does not claim that the URI is malformed and lecture the caller
 * about the URI's shape, which sends an agent to re-encode a URI that was right.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

let env: S3Env;
const dir = tempDir();
beforeAll(async () => {
  env = await startS3Env(['qa-res-bkt']);
  await env.s3.put('qa-res-bkt', 'notes/a.txt', 'hello');
  const cp = await startCloudport({ dataDir: dir });
  try {
    const c = await cp.ok<any>('create_connector', env.connector('qa-res-bkt'));
    const j = await cp.ok<any>('start_import', { connector_id: c.connector.id, index: 'docs' });
    await waitForJob(cp, j.job_id);
  } finally {
    await cp.close();
  }
}, 120_000);
afterAll(async () => {
  await env?.stop();
});

it('reading an item resource on a server without the indexes toolset names --toolsets, not the URI shape', async () => {
  const uri = 'cloudport://indexes/docs/items/notes/a.txt';
  // Control: the same URI reads on a server with every toolset.
  const full: Running = await startCloudport({ dataDir: dir });
  try {
    const r = await full.client.readResource({ uri });
    expect((r.contents[0] as { text: string }).text).toBe('hello');
  } finally {
    await full.close();
  }
  const cp: Running = await startCloudport({ dataDir: dir, args: ['--toolsets', 'connectors,imports'] });
  try {
    const err = await cp.client.readResource({ uri }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err, 'the read is refused').not.toBeNull();
    const msg = String(err!.message);
    expect(msg).toMatch(/toolsets/);
    expect(msg).toMatch(/indexes/);
    expect(msg).not.toMatch(/item URIs look like/);
  } finally {
    await cp.close();
  }
}, 120_000);
