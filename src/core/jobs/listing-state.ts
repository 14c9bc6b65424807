import type { FileCounts, JobRow, ListedFile } from '../../store/types.js';

/**
 * Unchanged files (new_only) a job keeps one row each for, so import_status {files_status: "skipped"}
 * shows examples; the rest are only counted, in the job's listing state (a re-import of 100,000
 * unchanged objects writes 100,000 fewer rows). An automation's finished runs are compacted the same way.
 */
export const SKIPPED_ROWS_KEPT = 100;

/** What the listing of a job carries from page to page: the next token, and the skipped files kept and counted. */
export interface ListingState {
  t: string | null;
  /** Skipped files stored as rows so far (up to SKIPPED_ROWS_KEPT). */
  k?: number;
  /** Skipped files counted, not stored. */
  compacted?: number;
  /** Files the listing selected so far (skipped ones included): 0 once the listing ends means nothing matched. */
  m?: number;
  /** Why a job that ended without failing did nothing (an automation's run that matched nothing). */
  none?: string;
}

export function parseListingState(s: string | null): ListingState {
  try {
    const v = JSON.parse(s ?? '{"t":null}') as ListingState;
    return v && typeof v === 'object' ? v : { t: null };
  } catch {
    return { t: null };
  }
}

/** Why a job ended as it did: its error, or the listing's note that nothing matched; null when neither. */
export function jobReason(job: { error: string | null; listing_state: string | null }): string | null {
  return job.error ?? parseListingState(job.listing_state).none ?? null;
}

/** Drops the skipped files past the first SKIPPED_ROWS_KEPT of the job, counting them in `state`. */
export function countSkipped(files: ListedFile[], state: ListingState): ListedFile[] {
  let kept = state.k ?? 0;
  let counted = 0;
  const out = files.filter((f) => {
    if (f.status !== 'skipped') return true;
    if (kept < SKIPPED_ROWS_KEPT) {
      kept++;
      return true;
    }
    counted++;
    return false;
  });
  state.k = kept;
  if (counted) state.compacted = (state.compacted ?? 0) + counted;
  return out;
}

/** Counts with the skipped files a job keeps as a number rather than one row each (countSkipped, compactAutomationRuns). */
export function withCompacted(job: JobRow, counts: FileCounts): FileCounts {
  const n = Number(parseListingState(job.listing_state).compacted ?? 0);
  return n > 0 ? { ...counts, skipped: counts.skipped + n } : counts;
}

