import { z } from 'zod';
import { defineTool } from './define.js';
import { connectorId } from './schemas.js';

export const deleteConnector = defineTool({
  name: 'delete_connector',
  title: 'Delete connector',
  description: 'Delete a connector, its stored credentials and its automations; imported items and past jobs stay. Refused while one of its jobs is queued or running.',
  input: z.object({ connector_id: connectorId }),
  output: z.object({
    deleted: z.boolean(),
    connector_id: z.string(),
    automations_deleted: z.number(),
    automations: z.array(z.string()).describe('Their ids (first 100).'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handler(args, { app, org }) {
    const r = await app.connectors.delete(org, args.connector_id);
    const autos = r.automations_deleted ? `, and its ${r.automations_deleted} automation(s): ${r.automations.join(', ')}${r.automations_deleted > r.automations.length ? ', …' : ''}` : '';
    return { data: { deleted: true, connector_id: args.connector_id, ...r }, summary: `deleted connector ${args.connector_id}${autos}` };
  },
});
