import { z } from 'zod';
import type { AutomationView } from '../core/automations/service.js';
import { escapeText, jsonText } from '../shared/text.js';
import { READ, defineTool } from './define.js';
import { connectorId, cursor, limit } from './schemas.js';
import { automationLine, automationOut } from './automation_schemas.js';

/** The page's columns: every field but enabled (state says "disabled") and updated_at. */
const COLUMNS = ['id', 'name', 'kind', 'connector_id', 'index', 'prefix', 'pattern', 'import_mode', 'schedule', 'state', 'paused_reason', 'next_run_at', 'last_run_at', 'last_job_id', 'last_status', 'last_reason', 'last_error', 'runs', 'skipped'] as const satisfies readonly (keyof AutomationView)[];

export const listAutomations = defineTool({
  name: 'list_automations',
  title: 'List automations',
  description: "List automations: state (active; paused, with paused_reason, while the connector is not ACTIVE or an export automation's index is missing; disabled), next and last run.",
  input: z.object({ connector_id: connectorId.optional(), cursor, limit }),
  output: z.object({ automations: z.array(automationOut), next_cursor: z.string().nullable() }),
  annotations: { ...READ, openWorldHint: false },
  async handler(args, { app, org }) {
    const r = await app.automations.list(org, args);
    const rows = r.automations.slice(0, 3).map(automationLine);
    const summary = `${r.automations.length} automation(s)${rows.length ? ': ' + rows.join('; ') : ''}${r.automations.length > 3 ? '; …' : ''}${r.next_cursor ? '; more with next_cursor' : ''}`;
    // The page as columns, as list_index_items gives its items: every automation of the page and the cursor, in few bytes.
    const page = { columns: COLUMNS, automations: r.automations.map((a) => COLUMNS.map((c) => a[c])), next_cursor: r.next_cursor };
    return { data: r, summary, text: `${escapeText(summary)}\n${jsonText(page)}` };
  },
});
