import { z } from 'zod';
import { invalid } from '../shared/errors.js';
import { brief, formatBytes } from '../shared/text.js';
import type { ImportStatus } from '../core/jobs/views.js';
import { SKIPPED_ROWS_KEPT } from '../core/jobs/listing-state.js';
import { FINAL_STATES } from '../core/jobs/kinds.js';
import { READ, defineTool } from './define.js';
import { counts, countsText, cursor, fileState, jobKind, jobStatus, limit } from './schemas.js';

export const importStatus = defineTool({
  name: 'import_status',
  title: 'Import status',
  description:
    'Status, counts and bytes of an import or export job. files_status lists files in that state ("failed": errors; "skipped": the first 100). wait_seconds long-polls until the job is final or the wait ends (progress goes out as notifications).',
  input: z.object({
    job_id: z.string().min(1).max(100),
    wait_seconds: z.number().min(0).max(30).optional().describe('Wait this long at most for the job to end.'),
    files_status: z.union([fileState, z.literal('all')]).optional(),
    cursor,
    limit,
  }),
  output: z.object({
    job_id: z.string(),
    kind: jobKind,
    connector_id: z.string(),
    index: z.string(),
    automation_id: z.string().nullable(),
    status: jobStatus,
    counts,
    bytes_done: z.number(),
    bytes_total: z.number(),
    listing_complete: z.boolean(),
    reason: z.string().nullable(),
    warning: z.string().optional().describe('Held up through no fault of its files (e.g. store full); resumes on its own.'),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    files: z
      .array(z.object({ key: z.string(), status: fileState, size: z.number().optional(), error: z.string().optional(), duplicate_of: z.string().optional(), path: z.string().optional() }))
      .optional(),
    files_unlisted: z.number().optional().describe('Skipped files not listed.'),
    next_cursor: z.string().nullable().optional(),
  }),
  annotations: READ,
  view: 'job',
  async handler(args, { app, org, signal, progress }) {
    const report = progress && ((s: ImportStatus) => {
      const c = s.counts;
      const done = (c.ready ?? 0) + (c.deduped ?? 0) + (c.exported ?? 0) + c.skipped + c.failed + c.canceled;
      progress(done, done + c.pending, `${s.status}: ${done} of ${done + c.pending} files done`);
    });
    // A files cursor pages a files_status list: without one it would page nothing, silently.
    if (args.cursor && !args.files_status) throw invalid('cursor', 'cursor pages the files that files_status lists; files_status is missing', 'Send the files_status of the call that gave this cursor with it, or leave cursor out.');
    const r = args.wait_seconds
      ? await app.jobs.waitForChange(org, args.job_id, args.wait_seconds, args, signal, report || undefined)
      : await app.jobs.status(org, args.job_id, args);
    const c = r.counts;
    return {
      data: r,
      summary:
        `${r.job_id} ${r.status}: ${countsText(r.kind, c)}` +
        // A finished job's bytes are what it moved: its canceled or failed files count in neither figure,
        // so "X of X" would read as a whole transfer.
        (FINAL_STATES.has(r.status) ? `; ${formatBytes(r.bytes_done)} in all${c.canceled || c.failed ? ' (canceled and failed files not counted)' : ''}` : `; ${formatBytes(r.bytes_done)} of ${formatBytes(r.bytes_total)}`) +
        (r.warning ? `; ${r.warning}` : '') +
        (r.reason ? `; reason: ${brief(r.reason, 600)}` : '') +
        (c.failed && !args.files_status ? '; files_status "failed" lists the errors' : '') +
        (r.files?.length
          ? `; ${r.files.length} ${args.files_status === 'all' ? '' : `${args.files_status} `}file(s)${r.next_cursor ? ' on this page' : ''}: ` +
            r.files
              .slice(0, 3)
              .map((f) => `${brief(f.key, 50)}${f.path ? ` → ${brief(f.path, 50)}` : ''}${f.duplicate_of ? ` = ${brief(f.duplicate_of, 50)}` : ''}${f.error ? ` (${brief(f.error, 60)})` : ''}`)
              .join(', ') +
            (r.files.length > 3 ? ', …' : '') +
            (r.next_cursor ? '; more with next_cursor' : '')
          : '') +
        // Said on every page: a job keeps rows for its first skipped files only, so no cursor reaches the rest.
        (r.files_unlisted ? `; ${r.files_unlisted} more skipped file(s) counted, not listed (a job lists its first ${SKIPPED_ROWS_KEPT} skipped files at most)` : ''),
    };
  },
});
