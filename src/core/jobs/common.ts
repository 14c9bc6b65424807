import { redact } from '../../shared/redact.js';
import type { ListedFile, NewJob, Store } from '../../store/types.js';
import type { JobKind } from './kinds.js';

/** A job's first log line as Store.createJob writes it, scrubbed of the organization's secrets. */
export const startLine = (org: string, message: string) => redact(message, org);

/** A line of a job's log (import_logs), scrubbed of the organization's secrets. */
export async function jobLog(store: Store, org: string, jobId: string, connectorId: string, level: string, key: string | null, message: string): Promise<void> {
  await store.addLog({ org_id: org, job_id: jobId, connector_id: connectorId, level, key, message: redact(message, org), time: new Date().toISOString() });
}

/** How long a start call lists before it answers (the rest of the listing continues in the background). */
export const FIRST_LISTING_MS = 2000;
export const FIRST_LISTING_FILES = 1000;

/** A new job's row: queued, unleased, with the idempotency key's hash when a key was given. */
export function newJobRow(o: {
  id: string;
  org: string;
  kind: JobKind;
  connectorId: string;
  index: string;
  params: object;
  listingState: string | null;
  complete: boolean;
  now: string;
  idempotencyKey?: string;
  hash?: string;
  automationId?: string;
}): NewJob {
  return {
    id: o.id,
    org_id: o.org,
    kind: o.kind,
    connector_id: o.connectorId,
    index_name: o.index,
    params: JSON.stringify(o.params),
    status: 'queued',
    listing_state: o.listingState,
    listing_complete: o.complete ? 1 : 0,
    lease_owner: null,
    lease_expires: 0,
    error: null,
    created_at: o.now,
    started_at: null,
    finished_at: null,
    idempotency_key: o.idempotencyKey ?? null,
    idempotency_hash: o.idempotencyKey ? (o.hash ?? null) : null,
    automation_id: o.automationId ?? null,
  };
}

/** The first failures of a listing, as a start call answers them. */
export function failedSample(files: ListedFile[]): { key: string; error: string }[] {
  return files
    .filter((f) => f.status === 'failed')
    .slice(0, 20)
    .map((f) => ({ key: f.key, error: f.error ?? 'failed' }));
}
