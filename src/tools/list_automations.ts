import { z } from 'zod';
import { READ, defineTool } from './define.js';
import { connectorId, cursor, limit } from './schemas.js';
import { automationLine, automationOut } from './automation_schemas.js';

export const listAutomations = defineTool({
  name: 'list_automations',
  title: 'List automations',
  description: 'List automations: state (active; paused, with paused_reason, while the connector is not ACTIVE; disabled), next and last run.',
  input: z.object({ connector_id: connectorId.optional(), cursor, limit }),
  output: z.object({ automations: z.array(automationOut), next_cursor: z.string().nullable() }),
  annotations: { ...READ, openWorldHint: false },
  async handler(args, { app, org }) {
    const r = await app.automations.list(org, args);
    const rows = r.automations.slice(0, 3).map(automationLine);
    return { data: r, summary: `${r.automations.length} automation(s)${rows.length ? ': ' + rows.join('; ') : ''}${r.automations.length > 3 ? '; …' : ''}${r.next_cursor ? '; more with next_cursor' : ''}` };
  },
});
