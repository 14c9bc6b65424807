import { z } from 'zod';
import { brief, escapeText, jsonText } from '../shared/text.js';
import { READ, defineTool } from './define.js';
import { advertise, connectorId, cursor } from './schemas.js';
import { needsRestore } from '../core/jobs/import/selection.js';

export const browseConnector = defineTool({
  name: 'browse_connector',
  title: 'Browse connector',
  description:
    'List objects under a prefix matching a glob (* stays in a folder, ** crosses folders), a page at a time: what start_import would take.',
  input: z.object({
    connector_id: connectorId,
    prefix: z.string().max(1024).optional().describe('Key prefix, e.g. "incoming/".'),
    pattern: z.string().max(1024).optional().describe('Glob after prefix, e.g. "*.pdf", "**/*.mp4"; case-sensitive, dot files included.'),
    folders: z.boolean().optional().describe('One level, grouped by "/".'),
    // No zod default: a limit given next to page_size must be told apart from one filled in.
    limit: advertise(z.number().int().min(1).max(1000), { type: 'integer', minimum: 1, maximum: 1000, default: 100 }).optional(),
    page_size: z.number().int().min(1).max(1000).optional().describe('Deprecated name of limit.'),
    cursor,
  }).superRefine((a, ctx) => {
    // page_size is limit's name before every list took `limit`; it stays for one release.
    if (a.limit !== undefined && a.page_size !== undefined && a.limit !== a.page_size) {
      ctx.addIssue({ code: 'custom', path: ['page_size'], message: 'page_size is the deprecated name of limit; they differ', params: { fix: 'Give limit only.' } });
    }
  }),
  output: z.object({
    objects: z.array(
      z.object({
        key: z.string(),
        size: z.number().nullable().describe('null: a Google file (sized on export).'),
        last_modified: z.string().nullable(),
        etag: z.string().nullable(),
        storage_class: z.string().optional(),
        exported: z.string().optional(),
      }),
    ),
    folders: z.array(z.string()).optional(),
    next_cursor: z.string().nullable(),
    scanned: z.number(),
    matched: z.number(),
    stopped: z.literal('time_budget').optional(),
    hint: z.string().optional(),
  }),
  annotations: READ,
  view: 'browse',
  async handler(args, { app, org }) {
    const { limit, page_size, ...rest } = args;
    const r = await app.browse(org, args.connector_id, { ...rest, page_size: limit ?? page_size ?? 100 });
    const keys = r.objects.slice(0, 3).map((o) => brief(o.key, 60));
    const classed = r.objects.filter((o) => o.storage_class).length;
    const restore = r.objects.filter((o) => needsRestore(o.storage_class)).length;
    const exported = r.objects.some((o) => o.exported);
    const summary =
      `${r.matched} object(s) matched of ${r.scanned} scanned` +
      (r.folders?.length ? `, ${r.folders.length} folder(s)` : '') +
      (keys.length ? `: ${keys.join(', ')}${r.objects.length > 3 ? ', …' : ''}` : '') +
      (r.stopped ? '; stopped at the time budget, continue with next_cursor' : r.next_cursor ? '; more with next_cursor' : '') +
      (r.hint ? `. ${r.hint}` : '') +
      (r.objects.some((o) => o.exported) ? '. Size null: a Google file, exported on import (its size is known then)' : '') +
      (classed ? `. ${classed} in another storage class (column class)${restore ? `; ${restore} of them (S3's GLACIER and DEEP_ARCHIVE, Azure's Archive tier) need a restore before import` : ''}` : '');
    // The page as columns (key, size, modified, and class when some object is not in the standard
    // class): every entry and the cursor, in few bytes.
    // (and exported, the format a Google file is exported to, when the page holds one)
    const page = {
      columns: ['key', 'size', 'modified', ...(classed ? ['class'] : []), ...(exported ? ['exported'] : [])],
      objects: r.objects.map((o) => [o.key, o.exported ? null : o.size, o.last_modified, ...(classed ? [o.storage_class ?? null] : []), ...(exported ? [o.exported ?? null] : [])]),
      ...(r.folders ? { folders: r.folders } : {}),
      next_cursor: r.next_cursor,
      matched: r.matched,
      scanned: r.scanned,
      ...(r.stopped ? { stopped: r.stopped } : {}),
    };
    const data = exported ? { ...r, objects: r.objects.map((o) => (o.exported ? { ...o, size: null } : o)) } : r;
    return { data, summary, text: `${escapeText(summary)}\n${jsonText(page)}` };
  },
});
