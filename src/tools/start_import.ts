import { z } from 'zod';
import { IMPORT_MODES } from '../core/connectors.js';
import { brief } from '../shared/text.js';
import { defineTool } from './define.js';
import { connectorId, jobStatus } from './schemas.js';

export const startImport = defineTool({
  name: 'start_import',
  title: 'Start import',
  description:
    'Import objects (by prefix + glob, or explicit keys) into a local index, created on first use. Answers at once with a job id; follow it with import_status.',
  input: z.object({
    connector_id: connectorId,
    index: z.string().min(1).max(100).describe('Index name: letters, digits, ".", "_", "-".'),
    prefix: z.string().max(1024).optional(),
    pattern: z.string().max(1024).optional().describe('Glob matched after prefix, as in browse_connector.'),
    keys: z.array(z.string().min(1).max(4096)).min(1).max(1000).optional().describe('Explicit keys instead of prefix/pattern.'),
    import_mode: z.enum(IMPORT_MODES).optional().describe("Overrides the connector's import_mode."),
    dedupe: z.boolean().optional().describe('Skip content already in the index under another key (default true).'),
  }),
  output: z.object({
    job_id: z.string(),
    status: jobStatus,
    accepted: z.number().int(),
    skipped: z.number().int(),
    sample: z.array(z.string()),
    failed_files: z.array(z.object({ key: z.string(), error: z.string() })),
    listing_complete: z.boolean(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, { app, org }) {
    const r = await app.imports.start(org, args);
    return {
      data: r,
      summary:
        `import ${r.job_id} ${r.status}: ${r.accepted} file(s) accepted${r.listing_complete ? '' : ' so far (listing continues)'}` +
        (r.skipped ? `, ${r.skipped} skipped (unchanged)` : '') +
        (r.failed_files.length ? `, ${r.failed_files.length} failed (first: ${brief(r.failed_files[0]!.key, 60)})` : '') +
        (r.sample.length ? `; e.g. ${r.sample.slice(0, 3).map((k) => brief(k, 50)).join(', ')}` : ''),
    };
  },
});
