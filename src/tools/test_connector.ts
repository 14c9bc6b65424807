import { z } from 'zod';
import { READ, defineTool } from './define.js';
import { checkOut, connectorId } from './schemas.js';

export const testConnector = defineTool({
  name: 'test_connector',
  title: 'Test connector',
  description:
    "Check auth, list, read (and write, with the export scope) and update the connector's health. A failed check names the missing permission and the fix.",
  input: z.object({ connector_id: connectorId }),
  output: z.object({ success: z.boolean(), message: z.string(), status: z.string(), checks: z.array(checkOut) }),
  // Read-only apart from health bookkeeping; read-only callers get no write probe and no bookkeeping.
  annotations: { ...READ, idempotentHint: false },
  async handler(args, { app, org, readOnly }) {
    const { result, connector } = await app.connectors.test(org, args.connector_id, { readOnly });
    const line = result.checks.map((c) => `${c.name} ${c.status}`).join(', ');
    return {
      data: { ...result, status: connector.status },
      summary: `${result.success ? 'test passed' : 'test failed'}: ${line}; connector ${connector.status}`,
    };
  },
});
