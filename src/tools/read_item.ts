import { z } from 'zod';
import { MAX_READ } from '../core/indexes.js';
import { brief, formatBytes } from '../shared/text.js';
import { READ, defineTool } from './define.js';

export const readItem = defineTool({
  name: 'read_item',
  title: 'Read item',
  description: 'Read an item\'s text (≤ 256 KiB per call, from offset); binary items give size and type only.',
  input: z.object({
    index: z.string().min(1).max(100),
    key: z.string().min(1).max(4096),
    offset: z.number().int().min(0).optional(),
    length: z.number().int().min(1).max(MAX_READ).optional(),
  }),
  output: z.object({
    key: z.string(),
    size: z.number(),
    content_type: z.string(),
    offset: z.number(),
    text: z.string().optional(),
    truncated: z.boolean().optional(),
    note: z.string().optional(),
  }),
  annotations: { ...READ, openWorldHint: false },
  async handler(args, { app, org }) {
    const r = await app.indexes.readItem(org, args.index, args.key, args.offset, args.length);
    return {
      data: r,
      summary:
        r.text !== undefined
          ? `${brief(r.key, 60)}: ${r.text.length} characters of ${formatBytes(r.size)} text${r.truncated ? ' (more from a later offset)' : ''}: "${brief(r.text, 80)}"`
          : `${brief(r.key, 60)}: ${r.note}`,
    };
  },
});
