import { z } from 'zod';
import { READ, defineTool } from './define.js';
import { connectorId, counts, cursor, jobKind, jobStatus, limit } from './schemas.js';

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
    return { data: r, summary: `${r.imports.length} job(s)${rows.length ? ': ' + rows.join('; ') : ''}${r.imports.length > 3 ? '; …' : ''}${r.next_cursor ? '; more with next_cursor' : ''}` };
  },
});
