import type { FileCounts } from '../../store/types.js';

/** Job states after which nothing changes. */
export const FINAL_STATES: ReadonlySet<string> = new Set(['completed', 'completed_with_errors', 'failed', 'canceled']);

/** Counts of an export job: the store's `ready` is shown as `exported`; imports' `deduped` does not occur. */
export interface ExportCounts {
  pending: number;
  exported: number;
  skipped: number;
  failed: number;
  canceled: number;
}

export const JOB_KINDS = ['import', 'export', 'reindex'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
/** Counts as the job views show them: imports have ready and deduped, exports exported. */
export interface JobCounts {
  pending: number;
  ready?: number;
  deduped?: number;
  exported?: number;
  skipped: number;
  failed: number;
  canceled: number;
}

export function exportCounts(c: FileCounts): ExportCounts {
  return { pending: c.pending, exported: c.ready, skipped: c.skipped, failed: c.failed, canceled: c.canceled };
}

/** The file state an agent asks for (files_status) as the store keeps it, per job kind. */
export function storeFileState(kind: string, state: string): string {
  return kind === 'export' && state === 'exported' ? 'ready' : state;
}

/** The store's file state as an agent sees it for this job kind. */
export function shownFileState(kind: string, state: string): string {
  return kind === 'export' && state === 'ready' ? 'exported' : state;
}

