import { z } from 'zod';
import { brief } from '../shared/text.js';
import { defineTool } from './define.js';
import { checkOut, connectorFields, connectorRef } from './schemas.js';

export const createConnector = defineTool({
  name: 'create_connector',
  title: 'Create connector',
  description:
    'Connect a storage bucket (s3, incl. S3-compatible endpoints). Tests access first and saves only if the checks pass; a failed test returns the checks with fixes.',
  input: z.object(connectorFields),
  output: z.object({ connector: connectorRef, checks: z.array(checkOut).optional() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, { app, org }) {
    const connector = await app.connectors.create(org, args);
    return {
      data: { connector },
      summary: `created connector ${connector.id} "${brief(connector.name)}" for ${connector.provider}://${brief(connector.bucket)} (${connector.status})`,
    };
  },
});
