import { z } from 'zod';
import { defineTool } from './define.js';
import { connectorId } from './schemas.js';

export const deleteConnector = defineTool({
  name: 'delete_connector',
  title: 'Delete connector',
  description: 'Delete a connector and its stored credentials; imported items stay. Refused while one of its jobs is queued or running.',
  input: z.object({ connector_id: connectorId }),
  output: z.object({ deleted: z.boolean(), connector_id: z.string() }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handler(args, { app, org }) {
    await app.connectors.delete(org, args.connector_id);
    return { data: { deleted: true, connector_id: args.connector_id }, summary: `deleted connector ${args.connector_id}` };
  },
});
