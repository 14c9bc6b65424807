/**
 * The summary line of an automation (list_automations, create/update/run results): while last_error is
 * set, the latest attempt could not start, and the line says so with the error, not "last run
 * completed" from the older job that last_job_id still names.
 */
import { describe, expect, it } from 'vitest';
import { automationLine } from '../../src/tools/automation_schemas.js';

const base = {
  id: 'auto_1', name: 'nightly', kind: 'import', connector_id: 'conn_1', index: 'docs', prefix: null, pattern: null, import_mode: 'new_only', schedule: '1h',
  enabled: true, state: 'active', paused_reason: null, next_run_at: '2026-12-07T10:00:00.000Z', last_run_at: '2026-12-07T09:00:00.000Z', last_job_id: 'job_1',
  last_status: 'completed', last_reason: null, last_error: null, runs: 3, skipped: 0, updated_at: '2026-12-07T09:00:00.000Z',
} as const;

describe('automationLine', () => {
  it('names the last run that started', () => {
    expect(automationLine({ ...base } as never)).toContain('last run completed');
  });
  it('names the error of an attempt that could not start instead', () => {
    const line = automationLine({ ...base, last_error: 'the store is full' } as never);
    expect(line).toContain('last run could not start: the store is full');
    expect(line).not.toContain('last run completed');
  });
});
