import { createHash } from 'node:crypto';
import { CloudportError } from '../../shared/errors.js';
import type { JobRow, Store } from '../../store/types.js';

/**
 * What makes two start calls "the same" for an idempotency key: the sorted arguments without the key
 * and dry_run. The hash is stored with the job, so its bytes must never change: an import's includes
 * `automation_id`; an export's leaves it out and is prefixed with "export".
 */
export function idempotencyHash(kind: 'import' | 'export', input: object): string {
  const { idempotency_key: _k, dry_run: _d, ...rest } = input as Record<string, unknown>;
  const args: Record<string, unknown> = rest;
  if (kind === 'export') delete args.automation_id;
  const entries = Object.keys(args)
    .sort()
    .map((k) => [k, args[k]]);
  const canonical = JSON.stringify(kind === 'export' ? ['export', ...entries] : entries);
  return createHash('sha256').update(canonical).digest('hex');
}

/** The job an earlier call with this idempotency key created, or null. */
export async function earlierJob(store: Store, org: string, key: string | undefined, dryRun: boolean | undefined): Promise<JobRow | null> {
  if (!key || dryRun) return null;
  return store.findJobByIdempotencyKey(org, key);
}

/** A key reused with other arguments is a conflict, never a silent replay of the other job. */
export function checkReplay(job: JobRow, hash: string, what: 'import' | 'export'): void {
  if (job.idempotency_hash === hash) return;
  throw new CloudportError('conflict', `idempotency_key was already used for job ${job.id} with other arguments`, {
    field: 'idempotency_key',
    fix: `Use a new key for a different ${what}, or repeat the original arguments to get the same job.`,
  });
}
