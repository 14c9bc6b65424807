import { z } from 'zod';
import { brief, formatBytes } from '../shared/text.js';
import { READ, defineTool } from './define.js';
import { cursor, limit } from './schemas.js';

export const listIndexes = defineTool({
  name: 'list_indexes',
  title: 'List indexes',
  description: 'List local indexes with item counts and sizes.',
  input: z.object({ cursor, limit }),
  output: z.object({ indexes: z.array(z.object({ name: z.string(), items: z.number(), bytes: z.number(), updated_at: z.string() })), next_cursor: z.string().nullable() }),
  annotations: { ...READ, openWorldHint: false },
  async handler(args, { app, org }) {
    const r = await app.indexes.list(org, args);
    const rows = r.indexes.slice(0, 5).map((i) => `${brief(i.name, 40)} (${i.items} items, ${formatBytes(i.bytes)})`);
    return { data: r, summary: `${r.indexes.length} index(es)${rows.length ? ': ' + rows.join(', ') : ''}${r.next_cursor ? '; more with next_cursor' : ''}` };
  },
});
