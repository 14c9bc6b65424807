import { z } from 'zod';
import { toView } from '../core/connectors/service.js';
import { brief } from '../shared/text.js';
import { READ, defineTool } from './define.js';
import { connectorId, connectorOut } from './schemas.js';

export const getConnector = defineTool({
  name: 'get_connector',
  title: 'Get connector',
  description: 'Show one connector: settings, status and health (never secrets).',
  input: z.object({ connector_id: connectorId }),
  output: z.object({ connector: connectorOut }),
  annotations: READ,
  async handler(args, { app, org }) {
    const connector = toView(await app.connectors.get(org, args.connector_id));
    return {
      data: { connector },
      summary: `${connector.id} "${brief(connector.name)}" ${connector.provider}://${brief(connector.bucket)} ${connector.status}${connector.last_error ? ` (last error: ${brief(connector.last_error)})` : ''}`,
    };
  },
});
