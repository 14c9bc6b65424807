import type { CloudportError } from '../../shared/errors.js';
import type { ConnectorRow, JobRow, Store } from '../../store/types.js';
import { NO_MATCH } from '../domain/nomatch.js';

/** Consecutive failures (tests or failed imports) after which a connector becomes FAILED. */
export const FAIL_AFTER = 5;

/**
 * A connector's health as its jobs see it: rows cached for the workers, credential failures counted
 * as they happen, and a finished job's verdict. After FAIL_AFTER consecutive failures the store marks
 * the connector FAILED and its pending work stops.
 */

/** Why a connector that is not ACTIVE does no more job work: "connector FAILED: <last_error>". */
export function inactiveReason(c: ConnectorRow): string {
  // SUSPENDED and ARCHIVED are a caller's choice: an earlier last_error is not why the work stopped.
  const why = c.status === 'SUSPENDED' ? 'suspended with update_connector' : c.status === 'ARCHIVED' ? 'archived' : (c.last_error ?? 'see get_connector');
  return `connector ${c.status}: ${why}`.slice(0, 1000);
}

/** Failures that say the connector's credentials or rights are wrong, not this one file. */
export function isCredentialFailure(e: CloudportError): boolean {
  // A refusal of one object for its own sake (field "key": a Drive file whose owner turned off downloads) is that file's.
  return (e.kind === 'permission_denied' && e.field !== 'key') || (e.field?.startsWith('credentials') ?? false);
}

/** Connector rows for the job workers, kept for a second (updates change updated_at, which the provider pool keys on). */
export class ConnectorCache {
  private readonly rows = new Map<string, { row: ConnectorRow | null; until: number }>();

  constructor(private readonly store: Store) {}

  async get(org: string, id: string): Promise<ConnectorRow | null> {
    const hit = this.rows.get(id);
    if (hit && hit.until > Date.now()) return hit.row;
    return this.fresh(org, id);
  }

  /** Reads the row again (before failing work on a cached status: a fixed connector is ACTIVE again). */
  async fresh(org: string, id: string): Promise<ConnectorRow | null> {
    const row = await this.store.getConnector(org, id);
    this.set(id, row);
    return row;
  }

  set(id: string, row: ConnectorRow | null): void {
    this.rows.set(id, { row, until: Date.now() + 1000 });
  }

  /**
   * Credential-level failures of single files (rejected keys or signatures, expired tokens, clock skew,
   * permission denied) count toward consecutive_failures as they happen; a success ends the run.
   * Answers the row when this outcome turned an ACTIVE connector FAILED.
   */
  async recordFileOutcome(org: string, id: string, seen: ConnectorRow, o: { ok: boolean; error?: string }): Promise<ConnectorRow | null> {
    const fresh = await this.store.getConnector(org, id);
    if (!fresh || fresh.status !== 'ACTIVE' || (o.ok && fresh.consecutive_failures === 0)) {
      this.set(id, fresh);
      return null;
    }
    const row = await this.store.recordHealth(org, id, { ...o, failAfter: FAIL_AFTER, now: new Date().toISOString() });
    this.set(id, row);
    return row && row.status === 'FAILED' && seen.status === 'ACTIVE' ? row : null;
  }
}

/**
 * A finished job's verdict on its connector (an import's or an export's). Credential failures of its
 * files were counted as they happened and are not counted again; a job that ends while its connector is
 * not ACTIVE does not revive it; a selection that matched nothing says nothing about the connector.
 */
export async function recordJobOutcome(store: Store, job: JobRow): Promise<void> {
  const what = job.kind === 'export' ? 'export' : 'import';
  const conn = await store.getConnector(job.org_id, job.connector_id);
  if (!conn || conn.status !== 'ACTIVE' || conn.last_error?.startsWith(`${what} ${job.id}: `)) return;
  if (job.error?.startsWith(NO_MATCH)) return;
  const now = new Date().toISOString();
  // A job failed because all its files did ("all N files failed", the store's own reason) was counted file
  // by file already: credential failures by recordFileOutcome, and a file's own refusal (a Drive file
  // whose owner turned downloads off, an export path refused before any request) is no fault of the
  // connector. Only a job's own error counts here.
  if (job.status === 'failed' && /^all \d+ files failed$/.test(job.error ?? '')) return;
  if (job.status === 'failed') {
    await store.recordHealth(job.org_id, job.connector_id, { ok: false, error: `${what} ${job.id} failed: ${job.error ?? 'no file succeeded'}`, failAfter: FAIL_AFTER, now });
  } else if (job.status === 'completed' || job.status === 'completed_with_errors') {
    // Only an import syncs: last_sync_at is when the index last took the bucket's content.
    await store.recordHealth(job.org_id, job.connector_id, { ok: true, ...(what === 'import' ? { synced: true } : {}), failAfter: FAIL_AFTER, now });
  }
}
