import { z } from 'zod';
import { brief } from '../shared/text.js';
import { defineTool } from './define.js';

export const deleteIndex = defineTool({
  name: 'delete_index',
  title: 'Delete index',
  description: 'Delete an index and its items (content no other index uses is removed). Refused while a job on it runs.',
  input: z.object({ index: z.string().min(1).max(100) }),
  output: z.object({ index: z.string(), items_deleted: z.number(), blobs_removed: z.number().describe('Contents that no item of your organization holds any more.') }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handler(args, { app, org }) {
    const r = await app.indexes.deleteIndex(org, args.index);
    return { data: r, summary: `deleted index ${brief(r.index)}: ${r.items_deleted} item(s), ${r.blobs_removed} stored content(s) no longer held` };
  },
});
