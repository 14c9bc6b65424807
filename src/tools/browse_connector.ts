import { z } from 'zod';
import { brief, escapeText, jsonText } from '../shared/text.js';
import { READ, defineTool } from './define.js';
import { connectorId, cursor } from './schemas.js';

export const browseConnector = defineTool({
  name: 'browse_connector',
  title: 'Browse connector',
  description:
    'List objects under a prefix, filtered by a glob (matched after the prefix; * stays within a folder, ** crosses folders), one page at a time. Use before start_import to see what it would take.',
  input: z.object({
    connector_id: connectorId,
    prefix: z.string().max(1024).optional().describe('Key prefix, e.g. "incoming/".'),
    pattern: z.string().max(1024).optional().describe('Glob such as "*.pdf" or "**/*.mp4"; dot files included, case-sensitive.'),
    folders: z.boolean().optional().describe('Group by "/" one level deep instead of recursing.'),
    page_size: z.number().int().min(1).max(1000).default(100),
    cursor,
  }),
  output: z.object({
    objects: z.array(z.object({ key: z.string(), size: z.number(), last_modified: z.string().nullable(), etag: z.string().nullable(), storage_class: z.string().optional() })),
    folders: z.array(z.string()).optional(),
    next_cursor: z.string().nullable(),
    scanned: z.number(),
    matched: z.number(),
    stopped: z.literal('time_budget').optional(),
    hint: z.string().optional(),
  }),
  annotations: READ,
  async handler(args, { app, org }) {
    const r = await app.browse(org, args.connector_id, args);
    const keys = r.objects.slice(0, 3).map((o) => brief(o.key, 60));
    const summary =
      `${r.matched} object(s) matched of ${r.scanned} scanned` +
      (r.folders?.length ? `, ${r.folders.length} folder(s)` : '') +
      (keys.length ? `: ${keys.join(', ')}${r.objects.length > 3 ? ', …' : ''}` : '') +
      (r.stopped ? '; stopped at the time budget, continue with next_cursor' : r.next_cursor ? '; more with next_cursor' : '') +
      (r.hint ? `. ${r.hint}` : '');
    // The page as columns (key, size, modified): every entry and the cursor, in few bytes.
    const page = {
      columns: ['key', 'size', 'modified'],
      objects: r.objects.map((o) => [o.key, o.size, o.last_modified]),
      ...(r.folders ? { folders: r.folders } : {}),
      next_cursor: r.next_cursor,
      matched: r.matched,
      scanned: r.scanned,
      ...(r.stopped ? { stopped: r.stopped } : {}),
    };
    return { data: r, summary, text: `${escapeText(summary)}\n${jsonText(page)}` };
  },
});
