import { CloudportError } from '../../shared/errors.js';
import type { Store } from '../../store/types.js';

/**
 * The refusal of a delete while jobs are queued or running on what it deletes: their ids (the first
 * five) and the call that cancels one, so that the agent can cancel or follow them without a
 * list_imports first.
 */
export async function busyError(store: Store, org: string, filter: { connectorId: string } | { index: string }, active: number, head: string, field: string): Promise<CloudportError> {
  const jobs = (await Promise.all(['running', 'queued'].map((status) => store.listJobs(org, { ...filter, status, limit: 5 })))).flat().slice(0, 5);
  const ids = jobs.map((j) => j.id).join(', ');
  return new CloudportError('conflict', `${head} queued or running${ids ? ` (${ids}${active > jobs.length ? ', …' : ''})` : ''}`, {
    field,
    fix: `Wait for them to finish (import_status {job_id, wait_seconds: 30}) or cancel them with cancel_import {job_id${jobs[0] ? `: "${jobs[0].id}"` : ''}}, then delete.`,
  });
}
