import { z } from 'zod';
import { brief } from '../shared/text.js';
import { defineTool } from './define.js';
import { connectorFields, connectorId, connectorRef, seeAlso } from './schemas.js';

const { provider: _provider, ...fields } = connectorFields;

export const updateConnector = defineTool({
  name: 'update_connector',
  title: 'Update connector',
  description:
    "Change a connector's fields (as in create_connector) or status: ACTIVE, SUSPENDED, ARCHIVED (final). Changed location or credentials are tested first, as is ACTIVE on a FAILED connector.",
  terseInputs: true,
  input: z.object({
    connector_id: connectorId,
    ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, (k === 'credentials' ? seeAlso(v, 'New credentials, as in create_connector.') : v).optional()])),
    status: z.enum(['ACTIVE', 'SUSPENDED', 'ARCHIVED']).optional(),
  }) as unknown as z.ZodObject<{
    connector_id: typeof connectorId;
    status: z.ZodOptional<z.ZodEnum<{ ACTIVE: 'ACTIVE'; SUSPENDED: 'SUSPENDED'; ARCHIVED: 'ARCHIVED' }>>;
  } & { [K in keyof typeof fields]: z.ZodOptional<(typeof fields)[K]> }>,
  output: z.object({ connector: connectorRef }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(args, { app, org }) {
    const { connector_id, ...patch } = args;
    const connector = await app.connectors.update(org, connector_id, patch);
    return { data: { connector }, summary: `updated ${connector.id} "${brief(connector.name)}" (${connector.status})` };
  },
});
