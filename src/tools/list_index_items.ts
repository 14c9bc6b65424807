import { z } from 'zod';
import { brief, escapeText, jsonText } from '../shared/text.js';
import { READ, defineTool } from './define.js';
import { cursor, limit } from './schemas.js';

export const listIndexItems = defineTool({
  name: 'list_index_items',
  title: 'List index items',
  description: 'List the items in a local index (one per key), optionally under a key prefix.',
  input: z.object({ index: z.string().min(1).max(100), prefix: z.string().max(1024).optional(), cursor, limit }),
  output: z.object({
    items: z.array(
      z.object({
        key: z.string(),
        connector_id: z.string(),
        size: z.number(),
        sha256: z.string(),
        content_type: z.string(),
        imported_at: z.string(),
        duplicate_of: z.string().optional(),
      }),
    ),
    next_cursor: z.string().nullable(),
  }),
  annotations: { ...READ, openWorldHint: false },
  async handler(args, { app, org }) {
    const r = await app.indexes.listItems(org, args.index, args);
    const keys = r.items.slice(0, 3).map((i) => brief(i.key, 60));
    const summary = `${r.items.length} item(s) ${r.next_cursor || args.cursor ? 'on this page of' : 'in'} index ${brief(args.index)}${keys.length ? `: ${keys.join(', ')}${r.items.length > 3 ? ', …' : ''}` : ''}${r.next_cursor ? '; more with next_cursor' : ''}`;
    // The page as columns: every item and the cursor; read_item reads any of them, duplicates included.
    const page = {
      columns: ['key', 'size', 'content_type', 'duplicate_of'],
      items: r.items.map((i) => [i.key, i.size, i.content_type, i.duplicate_of ?? null]),
      next_cursor: r.next_cursor,
    };
    return { data: r, summary, text: `${escapeText(summary)}\n${jsonText(page)}` };
  },
});
