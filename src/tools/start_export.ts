import { z } from 'zod';
import { OVERWRITE_MODES } from '../core/jobs/export/service.js';
import { brief, formatBytes } from '../shared/text.js';
import { defineTool } from './define.js';
import { connectorId } from './schemas.js';

export const startExport = defineTool({
  name: 'start_export',
  title: 'Start export',
  description:
    "Write an index's items (all, a prefix or keys) under the connector's export_base_path. Answers at once with a job_id for import_status. dry_run previews paths; idempotency_key makes retries safe.",
  input: z.object({
    index: z.string().min(1).max(100),
    connector_id: connectorId.describe('Needs the export scope.'),
    keys: z.array(z.string().min(1).max(4096)).min(1).max(1000).optional(),
    prefix: z.string().max(1024).optional(),
    path_template: z.string().min(1).max(1024).optional().describe('Default "{key}"; also {name} {ext} {index} {sha256}.'),
    overwrite: z.enum(OVERWRITE_MODES).optional().describe('never (default) skips existing objects; if_changed rewrites on a new SHA-256.'),
    dry_run: z.boolean().optional(),
    idempotency_key: z.string().min(1).max(200).optional(),
  }),
  output: z.object({
    job_id: z.string().nullable(),
    status: z.string().nullable(),
    accepted: z.number(),
    bytes: z.number(),
    sample: z.array(z.object({ key: z.string(), path: z.string() })),
    failed: z.number().int(),
    skipped: z.number().int().optional(),
    failed_files: z.array(z.object({ key: z.string(), error: z.string() })),
    listing_complete: z.boolean(),
    replayed: z.boolean().optional(),
    hint: z.string().optional(),
  }),
  // Objects in the bucket may be replaced (overwrite: if_changed / always).
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  view: 'job',
  async handler(args, { app, org }) {
    const r = await app.exports.start(org, args);
    const head = r.job_id ? `export ${r.job_id} ${r.status}${r.replayed ? ' (same idempotency_key: existing job)' : ''}` : 'dry run (no job created)';
    return {
      data: r,
      summary:
        `${head}: ${r.accepted} item(s), ${formatBytes(r.bytes)} accepted${r.listing_complete ? '' : r.job_id ? ' so far (listing continues)' : ' in the first pages (a job would list the rest)'}` +
        (r.skipped ? `, ${r.skipped} skipped (same content as another key, one object: import_status files_status "skipped" names them)` : '') +
        (r.failed_files.length ? `, ${r.failed} refused (first: ${brief(r.failed_files[0]!.key, 60)}: ${brief(r.failed_files[0]!.error, 80)})` : '') +
        (r.sample.length ? `; e.g. ${r.sample.slice(0, 3).map((s) => `${brief(s.key, 40)} → ${brief(s.path, 60)}`).join(', ')}` : '') +
        (r.hint ? `. ${r.hint}` : ''),
    };
  },
});
