import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';

/**
 * An agent that passes null for an optional enum filter (list_connectors {status: null},
 * list_imports {kind: null}) means "no filter": the answer tells it to leave the field out rather than
 * null, as it does for cursor and offset, instead of "Use one of: …", which would make it pick a filter.
 */
let cp: Running;
beforeAll(async () => {
  cp = await startCloudport({ dataDir: tempDir() });
});
afterAll(async () => {
  await cp?.close();
});

const leaveOut = /leave (it|status|kind|import_mode) out|omit/i;

it.each([
  ['list_connectors', { status: null }, 'status'],
  ['list_imports', { kind: null }, 'kind'],
  ['list_imports', { status: null }, 'status'],
])('%s %j: the fix says to leave the field out', async (tool, args, field) => {
  const r = await cp.call(tool, args);
  if (r.isError) {
    expect(r.data.error.field).toBe(field);
    expect(r.data.error.fix).toMatch(leaveOut);
  } else expect(r.data).toBeTruthy();
});
