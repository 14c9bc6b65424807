import { z } from 'zod';
import { brief } from '../shared/text.js';
import { defineTool } from './define.js';

export const deleteItem = defineTool({
  name: 'delete_item',
  title: 'Delete item',
  description: 'Delete one item (a later new_only import brings it back).',
  input: z.object({ index: z.string().min(1).max(100), key: z.string().min(1).max(4096) }),
  output: z.object({ index: z.string(), key: z.string(), blob_removed: z.boolean().describe('No item of your organization holds this content any more.') }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handler(args, { app, org }) {
    const r = await app.indexes.deleteItem(org, args.index, args.key);
    return { data: r, summary: `deleted ${brief(r.key, 80)} from ${brief(r.index)}` };
  },
});
