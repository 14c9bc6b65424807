import { z } from 'zod';
import { defineTool } from './define.js';
import { counts, countsText, jobKindOut, jobStatusOut } from './schemas.js';

export const cancelImport = defineTool({
  name: 'cancel_import',
  title: 'Cancel import',
  description: 'Cancel a queued or running job (import, export, reindex). Files done stay; pending files become canceled.',
  input: z.object({ job_id: z.string().min(1).max(100) }),
  output: z.object({ job_id: z.string(), kind: jobKindOut, status: jobStatusOut, counts }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { app, org }) {
    const r = await app.jobs.cancel(org, args.job_id);
    // A job that ended before the call (completed, failed) keeps its end: nothing of it is canceled.
    const already = r.status !== 'canceled' ? `already ${r.status}, nothing canceled: ` : '';
    return { data: { job_id: r.job_id, kind: r.kind, status: r.status as never, counts: r.counts }, summary: `${r.job_id} ${r.status}: ${already}${countsText(r.kind, r.counts)}` };
  },
});
