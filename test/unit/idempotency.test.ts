import { describe, expect, it } from 'vitest';
import { idempotencyHash } from '../../src/core/jobs/idempotency.js';

// Jobs in existing databases keep the hash their start call stored: the bytes of these hashes never change.
describe('idempotency hashes', () => {
  it('an import hashes its sorted arguments, automation_id included, without the key and dry_run', () => {
    const input = { connector_id: 'con_1', index: 'docs', prefix: 'a/', keys: undefined, automation_id: 'aut_1', idempotency_key: 'k', dry_run: false, exclude: ['*.tmp'] };
    expect(idempotencyHash('import', input)).toBe('1a4b9a0854ce4bfa14a933c0809818a7fd396db43da2b33d8e005f432eec12c3');
    expect(idempotencyHash('import', { ...input, idempotency_key: 'other', dry_run: true })).toBe(idempotencyHash('import', input));
  });

  it('an export is prefixed with "export" and leaves automation_id out', () => {
    const input = { connector_id: 'con_1', index: 'docs', prefix: 'a/', path_template: '{key}', automation_id: 'aut_1', idempotency_key: 'k' };
    expect(idempotencyHash('export', input)).toBe('833b5cf9bc2b6ba32e901148bc727a4caedec164923193cbc808bf3d00f4fb4d');
    expect(idempotencyHash('export', { ...input, automation_id: 'aut_2' })).toBe(idempotencyHash('export', input));
  });
});
