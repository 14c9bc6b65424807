import type { CloudportError } from '../../shared/errors.js';
import { redact } from '../../shared/redact.js';
import type { ClaimedFile, ConnectorRow, ListedFile, NewJob, Store } from '../../store/types.js';
import { inactiveReason, isCredentialFailure, type ConnectorCache } from '../connectors/health.js';
import type { JobKind } from './kinds.js';

/** A job's first log line as Store.createJob writes it, scrubbed of the organization's secrets. */
export const startLine = (org: string, message: string) => redact(message, org);

/** A line of a job's log (import_logs), scrubbed of the organization's secrets. */
export async function jobLog(store: Store, org: string, jobId: string, connectorId: string, level: string, key: string | null, message: string): Promise<void> {
  await store.addLog({ org_id: org, job_id: jobId, connector_id: connectorId, level, key, message: redact(message, org), time: new Date().toISOString() });
}

/**
 * The connector a job's file works through, or why it cannot: deleted, or not ACTIVE (a FAILED,
 * SUSPENDED or ARCHIVED connector's pending files end at once, without a request). A cached status
 * other than ACTIVE is read again before it fails work: a fixed connector is ACTIVE again.
 */
export async function fileConnector(cache: ConnectorCache, file: ClaimedFile): Promise<{ c: ConnectorRow } | { refused: string }> {
  // The scope the job's kind needs: one removed since the job started ends its pending files too.
  const scope = file.kind === 'import' || file.kind === 'export' ? file.kind : null;
  const lacks = (row: ConnectorRow) => scope !== null && !(JSON.parse(row.scopes) as string[]).includes(scope);
  let c = await cache.get(file.org_id, file.connector_id);
  if (c && (c.status !== 'ACTIVE' || lacks(c))) c = await cache.fresh(file.org_id, file.connector_id);
  if (!c) return { refused: 'the connector was deleted' };
  if (c.status !== 'ACTIVE') return { refused: inactiveReason(c) };
  if (lacks(c)) return { refused: `the connector no longer has the ${scope} scope (add it back with update_connector {scopes}, then retry)` };
  return { c };
}

/**
 * A file's outcome for its connector's health (`c` is the row the file worked with): a success ends a
 * run of credential failures (it does not revive a FAILED connector); a refusal for the credentials'
 * or rights' sake counts as it happens, so five in a row make the connector FAILED and the job's
 * other files end without a request. Other failures are the file's own and do not count.
 */
export async function countFileOutcome(store: Store, cache: ConnectorCache, file: ClaimedFile, c: ConnectorRow, outcome: { ok: true } | { ok: false; err: CloudportError; message: string }): Promise<void> {
  if (outcome.ok) {
    if (c.consecutive_failures > 0) await cache.recordFileOutcome(file.org_id, file.connector_id, c, { ok: true });
    return;
  }
  if (!isCredentialFailure(outcome.err)) return;
  const failed = await cache.recordFileOutcome(file.org_id, file.connector_id, c, { ok: false, error: `${file.kind} ${file.job_id}: ${outcome.message}` });
  if (failed) {
    await jobLog(store, file.org_id, file.job_id, file.connector_id, 'error', null, `connector ${failed.id} is FAILED after ${failed.consecutive_failures} consecutive failures; its pending files fail: ${failed.last_error ?? ''}`);
  }
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
