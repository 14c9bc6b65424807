/**
 * A browse_connector cursor is bound to the connector it was made for, as every list's cursor is bound
 * to its query: another connector's cursor is refused on the cursor field with the wording the other
 * tools use, instead of being read as a position in this connector's listing (which skipped its first
 * objects).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

describe('browse_connector cursor of another connector', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['cur-conn-a', 'cur-conn-b']);
    for (let i = 0; i < 4; i++) {
      await env.s3.put('cur-conn-a', `docs/a${i}.md`, `a${i}`);
      await env.s3.put('cur-conn-b', `docs/b${i}.md`, `b${i}`);
    }
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('is refused as config_invalid on cursor; the same connector pages on from it', async () => {
    const a = (await cp.ok('create_connector', env.connector('cur-conn-a'))).connector.id;
    const b = (await cp.ok('create_connector', env.connector('cur-conn-b'))).connector.id;
    const pageA = await cp.ok('browse_connector', { connector_id: a, prefix: 'docs/', limit: 2 });
    expect(pageA.next_cursor).toBeTruthy();
    const r = await cp.call('browse_connector', { connector_id: b, prefix: 'docs/', limit: 2, cursor: pageA.next_cursor });
    expect(r.isError, r.text).toBe(true);
    expect(r.data.error).toMatchObject({ kind: 'config_invalid', field: 'cursor', message: 'cursor belongs to a different query' });
    expect(r.data.error.fix).toMatch(/omit the cursor/);
    const rest = await cp.ok('browse_connector', { connector_id: a, prefix: 'docs/', limit: 2, cursor: pageA.next_cursor });
    expect(rest.objects.map((o: { key: string }) => o.key)).toEqual(['docs/a2.md', 'docs/a3.md']);
  });
});
