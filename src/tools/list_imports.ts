import { z } from 'zod';
import type { ImportSummary } from '../core/jobs/views.js';
import { escapeText, jsonText } from '../shared/text.js';
import { READ, defineTool } from './define.js';
import { connectorId, counts, cursor, jobKind, jobStatus, limit } from './schemas.js';

/** The page's columns: a job's counts one column each, null where its kind has none (exports count exported, imports ready and deduped). */
const COLUMNS = ['job_id', 'kind', 'status', 'index', 'connector_id', 'automation_id', 'pending', 'ready', 'deduped', 'exported', 'skipped', 'failed', 'canceled', 'created_at', 'finished_at'];

/** One job as a row of COLUMNS, in their order. */
function row(j: ImportSummary): unknown[] {
  const c = j.counts;
  return [j.job_id, j.kind, j.status, j.index, j.connector_id, j.automation_id, c.pending, c.ready ?? null, c.deduped ?? null, c.exported ?? null, c.skipped, c.failed, c.canceled, j.created_at, j.finished_at];
}

export const listImports = defineTool({
  name: 'list_imports',
  title: 'List imports',
  description: 'List import and export jobs, newest first, by connector, index, kind, status or automation: finds a lost job_id.',
  input: z.object({ connector_id: connectorId.optional(), index: z.string().min(1).max(100).optional(), kind: jobKind.optional(), status: jobStatus.optional(), automation_id: z.string().min(1).max(100).optional(), cursor, limit }),
  output: z.object({
    imports: z.array(
      z.object({ job_id: z.string(), kind: jobKind, connector_id: z.string(), index: z.string(), automation_id: z.string().nullable(), status: jobStatus, counts, created_at: z.string(), finished_at: z.string().nullable() }),
    ),
    next_cursor: z.string().nullable(),
  }),
  annotations: { ...READ, openWorldHint: false },
  async handler(args, { app, org }) {
    const r = await app.jobs.list(org, args);
    const rows = r.imports.slice(0, 3).map((j) => `${j.job_id} ${j.kind} ${j.status} (${j.index})`);
    const summary = `${r.imports.length} job(s)${rows.length ? ': ' + rows.join('; ') : ''}${r.imports.length > 3 ? '; …' : ''}${r.next_cursor ? '; more with next_cursor' : ''}`;
    // The page as columns, as list_index_items gives its items: every job of the page and the cursor, in few bytes.
    const page = { columns: COLUMNS, imports: r.imports.map(row), next_cursor: r.next_cursor };
    return { data: r, summary, text: `${escapeText(summary)}\n${jsonText(page)}` };
  },
});
