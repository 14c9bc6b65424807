import { z } from 'zod';
import { brief } from '../shared/text.js';
import { READ, defineTool } from './define.js';
import { connectorId, cursor, limit } from './schemas.js';

export const importLogs = defineTool({
  name: 'import_logs',
  title: 'Import logs',
  description: 'Log entries (starts, ends, per-file errors) of import and export jobs, oldest first, by job or connector.',
  input: z.object({ connector_id: connectorId.optional(), job_id: z.string().min(1).max(100).optional(), cursor, limit }),
  output: z.object({
    entries: z.array(z.object({ time: z.string(), level: z.string(), job_id: z.string(), key: z.string().optional(), message: z.string() })),
    next_cursor: z.string().nullable(),
  }),
  annotations: { ...READ, openWorldHint: false },
  async handler(args, { app, org }) {
    const r = await app.jobs.logs(org, args);
    const errors = r.entries.filter((e) => e.level === 'error').length;
    const last = r.entries[r.entries.length - 1];
    return {
      data: r,
      summary: `${r.entries.length} log entr${r.entries.length === 1 ? 'y' : 'ies'}, ${errors} error(s)${last ? `; last: ${brief(last.message, 100)}` : ''}${r.next_cursor ? '; more with next_cursor' : ''}`,
    };
  },
});
