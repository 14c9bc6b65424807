import { z } from 'zod';
import { MAX_QUERY_LENGTH } from '../core/search/query.js';
import { brief, escapeText, jsonText } from '../shared/text.js';
import { READ, defineTool } from './define.js';
import { cursor } from './schemas.js';

const indexName = z.string().min(1).max(100);

export const searchIndex = defineTool({
  name: 'search_index',
  title: 'Search indexes',
  description:
    'Full-text search of imported items (PDF, DOCX, XLSX, HTML, text…). query: words (all must match), "phrases", word* prefixes, OR, -excluded. Each result: index, key, score, snippet with «matches», offset for read_item.',
  input: z.object({
    index: z.union([indexName, z.array(indexName).min(1).max(50)]).optional().describe('Index name(s); omitted: every index.'),
    query: z.string().min(1).max(MAX_QUERY_LENGTH),
    prefix: z.string().max(1024).optional().describe('Only keys under this prefix.'),
    limit: z.number().int().min(1).max(50).optional().default(10),
    cursor,
  }),
  output: z.object({
    results: z.array(z.object({ index: z.string(), key: z.string(), score: z.number(), snippet: z.string(), offset: z.number(), text_status: z.string() })),
    next_cursor: z.string().nullable(),
    total_estimate: z.number(),
    hint: z.string().optional(),
  }),
  annotations: { ...READ, openWorldHint: false },
  async handler(args, { app, org }) {
    const { position, ...r } = await app.search.search(org, args);
    const shown = r.results.length;
    const range = shown === 1 ? `result ${position.first}` : `results ${position.first}-${position.first + shown - 1}`;
    const summary = shown
      ? `${range} of ${position.exact ? '' : 'about '}${r.total_estimate} matching item(s) for ${brief(args.query, 100)}${r.next_cursor ? '; more with next_cursor' : ''}`
      : position.first > 1
        ? `no results past ${position.first - 1} for ${brief(args.query, 100)}: the search has ${position.exact ? '' : 'about '}${r.total_estimate} matching item(s) (fewer now if items were deleted or changed since the previous page)`
        : `no item matches ${brief(args.query, 100)}: ${r.hint ?? ''}`;
    // Every field of every hit, as columns: read_item {index, key, offset} goes to the place of a snippet.
    const page = {
      columns: ['index', 'key', 'score', 'offset', 'text_status', 'snippet'],
      results: r.results.map((h) => [h.index, h.key, h.score, h.offset, h.text_status, h.snippet]),
      total_estimate: r.total_estimate,
      next_cursor: r.next_cursor,
    };
    return { data: r, summary, text: `${escapeText(summary)}\n${jsonText(page)}` };
  },
});
