import { z } from 'zod';
import { brief } from '../shared/text.js';
import { defineTool } from './define.js';

export const reindexIndex = defineTool({
  name: 'reindex_index',
  title: 'Reindex',
  description: 'Extract searchable text from items imported without it (before search existed, or with CLOUDPORT_EXTRACT=off); all: true extracts every item again. A job (import_status follows it); one per index: while one runs, a call answers it.',
  input: z.object({ index: z.string().min(1).max(100), all: z.boolean().optional() }),
  output: z.object({ job_id: z.string(), status: z.string(), index: z.string(), queued: z.number(), listing_complete: z.boolean(), already_running: z.boolean().optional() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { app, org }) {
    const r = await app.reindex.start(org, args);
    const summary = r.already_running
      ? `reindex job ${r.job_id} is already ${r.status} for index ${brief(r.index)} (${r.queued} item(s)${r.listing_complete ? '' : ' so far'}): no second job started; import_status {job_id: "${r.job_id}", wait_seconds: 30} follows it`
      : r.queued === 0 && r.listing_complete && !args.all
        ? `nothing to extract in index ${brief(r.index)}: every item has its text (job ${r.job_id} ends at once); all: true extracts every item again`
        : `reindex job ${r.job_id} queued for index ${brief(r.index)}: ${r.queued} item(s)${r.listing_complete ? '' : ' so far'}; import_status {job_id: "${r.job_id}", wait_seconds: 30} follows it`;
    return { data: r, summary };
  },
});
