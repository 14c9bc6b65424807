import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A key that holds glob characters ("star*.txt", "[brk].txt") is selected alone by escaping them
 * (`star\*.txt`, as picomatch's own error advises): the listing narrows only to the text before the
 * first backslash, and the matcher does the rest.
 */
describe('browse/start_import with a backslash-escaped glob character', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['glob-esc']);
    await env.s3.put('glob-esc', 'star*.txt', 'the star file');
    await env.s3.put('glob-esc', 'starA.txt', 'another file');
    await env.s3.put('glob-esc', '[brk].txt', 'the bracket file');
    await env.s3.put('glob-esc', 'b.txt', 'b');
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('browse_connector pattern "star\\*.txt" lists exactly the key "star*.txt"', async () => {
    const { connector } = await cp.ok('create_connector', env.connector('glob-esc'));
    const b = await cp.call('browse_connector', { connector_id: connector.id, pattern: 'star\\*.txt' });
    expect(b.isError, b.text).toBe(false);
    expect(b.data.objects.map((o: any) => (Array.isArray(o) ? o[0] : o.key))).toEqual(['star*.txt']);
  });

  it('browse_connector pattern "\\[brk\\].txt" lists exactly the key "[brk].txt"', async () => {
    const { connector } = await cp.ok('create_connector', env.connector('glob-esc'));
    const b = await cp.call('browse_connector', { connector_id: connector.id, pattern: '\\[brk\\].txt' });
    expect(b.isError, b.text).toBe(false);
    expect(b.data.objects.map((o: any) => (Array.isArray(o) ? o[0] : o.key))).toEqual(['[brk].txt']);
  });

  it('start_import with pattern "star\\*.txt" imports that key', async () => {
    const { connector } = await cp.ok('create_connector', env.connector('glob-esc'));
    const r = await cp.call('start_import', { connector_id: connector.id, index: 'glob-esc', pattern: 'star\\*.txt' });
    expect(r.isError, r.text).toBe(false);
    const s = await waitForJob(cp, r.data.job_id);
    expect(s).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    expect((await cp.call('read_item', { index: 'glob-esc', key: 'star*.txt' })).text).toContain('the star file');
  });
});
