import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';

/**
 * An agent passes numbers inside an array of strings (start_import {keys: [1, 2]}). The error's field
 * is the item (keys[0]) and its fix speaks of the items ("Give each item of keys as a string"), not of
 * the array, which "Give keys as a string" would contradict.
 */
describe('type error inside an array names the item, not the array', () => {
  let cp: Running;
  beforeAll(async () => {
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('start_import {keys: [1, 2]}: the fix does not tell the agent to give keys as a string', async () => {
    const r = await cp.call('start_import', { connector_id: 'conn_x', index: 'i', keys: [1, 2] });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/^config_invalid: keys\[0\]: .*\[keys\[0\]\]/);
    expect(r.text).not.toMatch(/Give keys as a string/);
    // And the server keeps going: following "as a string" literally is refused as "an array".
    const s = await cp.call('start_import', { connector_id: 'conn_x', index: 'i', keys: 'a.txt' });
    expect(s.text).toMatch(/Give keys as an array/);
  });
});
