import { z } from 'zod';
import { brief } from '../shared/text.js';
import { defineTool } from './define.js';
import { connectorFields, connectorRef } from './schemas.js';

export const createConnector = defineTool({
  name: 'create_connector',
  title: 'Create connector',
  description:
    'Connect an s3 (or S3-compatible), gcs or azure_blob bucket, or a google_drive folder. Saved only if its access checks pass (else: checks with fixes). Next: browse_connector.',
  input: z.object(connectorFields),
  // A failed test is an error result: its checks come with the error (details), never in a saved connector's result.
  output: z.object({ connector: connectorRef, warning: z.string().optional() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, { app, org }) {
    const { warning, ...connector } = await app.connectors.create(org, args);
    return {
      data: { connector, ...(warning ? { warning } : {}) },
      summary: `created connector ${connector.id} "${brief(connector.name)}" for ${connector.provider}://${brief(connector.bucket)} (${connector.status})${warning ? `; warning: ${warning}` : ''}`,
    };
  },
});
