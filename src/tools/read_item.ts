import { z } from 'zod';
import { DEFAULT_READ, MAX_READ } from '../core/indexes/service.js';
import { brief, escapeContent, formatBytes } from '../shared/text.js';
import { READ, defineTool } from './define.js';

/**
 * Bytes the text of a read may take when the caller gave no length: escapes (an invisible tag character
 * is written as 9 characters) can make a default read's text several times its bytes, past 64 KiB.
 */
const DEFAULT_TEXT_BUDGET = 48 * 1024;

export const readItem = defineTool({
  name: 'read_item',
  title: 'Read item',
  description: `Read an imported item's text (documents: their extracted text): ${DEFAULT_READ / 1024} KiB from offset by default (length up to ${MAX_READ / 1024} KiB); next_offset continues, null at the end. The text content is the text itself. Binary items return size, type and text_status.`,
  input: z.object({
    index: z.string().min(1).max(100),
    key: z.string().min(1).max(4096),
    offset: z.number().int().min(0).optional().describe('Byte offset into the text (e.g. a previous next_offset).'),
    length: z.number().int().min(1).max(MAX_READ).optional().describe(`Bytes to read (default ${DEFAULT_READ}).`),
    raw: z.boolean().optional().describe('Read the stored bytes, not the extracted text.'),
  }),
  output: z.object({
    key: z.string(),
    size: z.number(),
    content_type: z.string(),
    text_status: z.string(),
    text_bytes: z.number().optional(),
    offset: z.number(),
    next_offset: z.number().nullable(),
    text: z.string().optional(),
    truncated: z.boolean().optional(),
    note: z.string().optional(),
  }),
  annotations: { ...READ, openWorldHint: false },
  async handler(args, { app, org }) {
    let r = await app.indexes.readItem(org, args.index, args.key, args.offset, args.length, args.raw);
    let content = r.text === undefined ? '' : escapeContent(r.text);
    if (args.length === undefined && Buffer.byteLength(content) > DEFAULT_TEXT_BUDGET) {
      // Read again, shorter in proportion: next_offset then continues from where this text ends.
      const length = Math.max(64, Math.floor((DEFAULT_READ * DEFAULT_TEXT_BUDGET) / Buffer.byteLength(content)));
      r = await app.indexes.readItem(org, args.index, args.key, args.offset, length, args.raw);
      content = r.text === undefined ? '' : escapeContent(r.text);
    }
    const key = brief(r.key, 200);
    if (r.text === undefined) {
      const summary = `${key}: ${r.note}, ${formatBytes(r.size)}, text_status ${r.text_status}`;
      return { data: r, summary };
    }
    // Up to where the next call continues (the text's own length can differ: a byte that is not UTF-8 reads as U+FFFD).
    const end = r.next_offset ?? r.text_bytes ?? r.size;
    const where = (r.next_offset !== null ? `more from next_offset ${r.next_offset}` : 'end of text, next_offset null') + (r.note ? `; ${r.note}` : '');
    // A text read as stored names its text_status too when search does not cover all of it.
    const of = r.text_bytes !== undefined ? `${r.text_bytes} of extracted text (${r.text_status})` : `${r.size}${r.text_status === 'extracted' ? '' : `, text_status ${r.text_status}`}`;
    const summary = `${key}: bytes ${r.offset}-${end} of ${of} (${brief(r.content_type, 100)}); ${where}`;
    // The header line, then the text itself with real newlines: an agent reads the content directly.
    return { data: r, summary, text: `${summary}\n\n${content}` };
  },
});
