import { redact } from '../../shared/redact.js';
import type { Store } from '../../store/types.js';

/** A line of a job's log (import_logs), scrubbed of the organization's secrets. */
export async function jobLog(store: Store, org: string, jobId: string, connectorId: string, level: string, key: string | null, message: string): Promise<void> {
  await store.addLog({ org_id: org, job_id: jobId, connector_id: connectorId, level, key, message: redact(message, org), time: new Date().toISOString() });
}

/** How long a start call lists before it answers (the rest of the listing continues in the background). */
export const FIRST_LISTING_MS = 2000;
export const FIRST_LISTING_FILES = 1000;
