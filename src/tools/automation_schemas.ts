import { z } from 'zod';
import type { AutomationView } from '../core/automations/service.js';
import { IMPORT_MODES } from '../core/connectors/service.js';
import { brief } from '../shared/text.js';
import { seeAlso } from './schemas.js';

/** Zod pieces shared by the automation tools. */

export const automationId = z.string().min(1).max(100);

export const automationFields = {
  index: z.string().min(1).max(100),
  prefix: z.string().max(1024).optional(),
  pattern: z.string().max(1024).optional().describe('Glob after prefix, as in browse_connector.'),
  schedule: z.string().min(1).max(100).describe('Interval ("15m", "1h"; at least 1m) or UTC cron ("*/15 * * * *").'),
  import_mode: z.enum(IMPORT_MODES).optional().describe('Default new_only.'),
  enabled: z.boolean().optional().describe('Default true.'),
  name: z.string().min(1).max(100).optional(),
};

export const automationOut = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.string(),
  connector_id: z.string(),
  index: z.string(),
  prefix: z.string().nullable(),
  pattern: z.string().nullable(),
  import_mode: z.string().nullable(),
  schedule: z.string(),
  enabled: z.boolean(),
  state: z.enum(['active', 'paused', 'disabled']),
  paused_reason: z.string().nullable(),
  next_run_at: z.string().nullable(),
  last_run_at: z.string().nullable(),
  last_job_id: z.string().nullable(),
  last_status: z.string().nullable().describe('Of the last job.'),
  last_reason: z.string().nullable().describe("The last job's reason: why it failed, or that nothing matched."),
  last_error: z.string().nullable(),
  runs: z.number(),
  skipped: z.number().describe('Ticks that started no run: the previous run was still going, or (Google Drive) nothing changed.'),
  updated_at: z.string(),
});

/** The automation in results of create/update/run: documented in full by list_automations' output schema. */
export const automationRef = seeAlso(automationOut, 'As list_automations returns it.');

/** One line about an automation for a summary. */
export function automationLine(a: AutomationView): string {
  const state = a.state === 'paused' ? `paused: ${a.paused_reason}` : a.state === 'active' ? (a.next_run_at ? `next run ${a.next_run_at}` : 'no run ahead: its cron has no later match') : 'disabled';
  const when = /^\d+[smhd]$/.test(a.schedule) ? `every ${a.schedule}` : `cron "${brief(a.schedule, 40)}"`;
  // last_error is cleared by every run that starts: while set, the latest attempt is that error, not last_job_id's job.
  const last = a.last_error
    ? `; last run could not start: ${brief(a.last_error, 160)}`
    : a.last_status
      ? `; last run ${a.last_status}${a.last_reason ? `: ${brief(a.last_reason, 100)}` : ''}`
      : '';
  return `${a.id} "${brief(a.name, 50)}" ${a.kind} → ${brief(a.index, 40)} ${when} (${state}${last})`;
}
