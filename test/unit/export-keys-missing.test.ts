/**
 * start_export with keys of which none is an item of the index: not_found on keys (a typo, an item
 * deleted), not a path_template refusal that no template could fix. With a store stub.
 */
import { describe, expect, it } from 'vitest';
import { ExportService } from '../../src/core/jobs/export/service.js';

const connector = { id: 'conn_1', org_id: 'org_a', provider: 's3', status: 'ACTIVE', scopes: JSON.stringify(['import', 'export']), export_base_path: 'out/', last_error: null };
let created = 0;
const store = {
  indexExists: async () => true,
  countActiveJobsForIndex: async () => 0,
  getItem: async () => null,
  findJobByIdempotencyKey: async () => null,
  createJob: async () => {
    created++;
  },
  appendJobLog: async () => undefined,
  log: async () => undefined,
};
const svc = new ExportService(store as never, {} as never, { get: async () => ({ capabilities: { write: true } }) } as never, { get: async () => connector } as never, { leaseMs: 60_000, log: {} as never });

describe('start_export with keys that name no item', () => {
  it('answers not_found on keys (or starts the job that fails them, as before), not config_invalid on path_template', async () => {
    const e = await svc.start('org_a', { connector_id: 'conn_1', index: 'idx', keys: ['docs/typo.txt'] } as never).catch((x: unknown) => x);
    const got = e instanceof Error ? { kind: (e as { kind?: string }).kind, field: (e as { field?: string }).field, message: e.message } : { kind: 'started', field: null, message: '' };
    expect(got).not.toMatchObject({ kind: 'config_invalid', field: 'path_template' });
  });
});
