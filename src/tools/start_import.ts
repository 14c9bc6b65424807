import { z } from 'zod';
import { IMPORT_MODES } from '../core/connectors/service.js';
import { brief, formatBytes } from '../shared/text.js';
import { defineTool } from './define.js';
import { connectorId, jobStatusOut } from './schemas.js';

export const startImport = defineTool({
  name: 'start_import',
  title: 'Start import',
  description:
    'Import objects (prefix + glob, or keys) into a local index, created on first use. Answers at once with a job_id: follow it with import_status wait_seconds. dry_run previews; idempotency_key makes retries safe.',
  input: z.object({
    connector_id: connectorId.optional(),
    index: z.string().min(1).max(100).optional().describe('Letters, digits, ".", "_", "-". Required unless retry_of.'),
    prefix: z.string().max(1024).optional(),
    pattern: z.string().max(1024).optional().describe('Glob after prefix, as in browse_connector.'),
    exclude: z.array(z.string().min(1).max(1024)).max(50).optional().describe('Globs to leave out.'),
    min_size: z.number().int().min(0).optional(),
    max_size: z.number().int().min(0).optional(),
    modified_after: z.string().max(40).optional().describe('ISO date/time.'),
    keys: z.array(z.string().min(1).max(4096)).min(1).max(1000).optional().describe('Instead of a listing.'),
    import_mode: z.enum(IMPORT_MODES).optional().describe("Overrides the connector's."),
    dedupe: z.boolean().optional().describe('Link content another key holds as duplicate_of; default true.'),
    idempotency_key: z.string().min(1).max(200).optional().describe('Same key, same arguments: same job.'),
    dry_run: z.boolean().optional().describe('Count only; no job.'),
    retry_of: z.string().min(1).max(100).optional().describe("A finished job_id: import only its failed files (once; a second call answers that retry)."),
  }),
  output: z.object({
    job_id: z.string().nullable(),
    status: jobStatusOut.nullable(),
    accepted: z.number().int(),
    bytes: z.number(),
    skipped: z.number().int(),
    sample: z.array(z.string()),
    failed: z.number().int(),
    failed_files: z.array(z.object({ key: z.string(), error: z.string() })),
    listing_complete: z.boolean(),
    replayed: z.boolean().optional(),
    hint: z.string().optional(),
    skipped_why: z.string().optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  view: 'job',
  async handler(args, { app, org }) {
    const r = await app.imports.start(org, args);
    const head = r.job_id ? `import ${r.job_id} ${r.status}${r.replayed ? (args.idempotency_key ? ' (same idempotency_key: existing job)' : ' (existing job)') : ''}` : 'dry run (no job created)';
    return {
      data: r,
      summary:
        `${head}: ${r.accepted} file(s), ${formatBytes(r.bytes)} accepted${r.listing_complete ? '' : r.job_id ? ' so far (listing continues)' : ' in the first pages (a job would list the rest)'}` +
        (r.skipped ? `, ${r.skipped} skipped (${r.skipped_why ?? 'unchanged'})` : '') +
        (r.failed_files.length ? `, ${r.failed} failed (first: ${brief(r.failed_files[0]!.key, 60)})` : '') +
        (r.sample.length ? `; e.g. ${r.sample.slice(0, 3).map((k) => brief(k, 50)).join(', ')}` : '') +
        (r.hint ? `. ${r.hint}` : ''),
    };
  },
});
