import { z } from 'zod';
import { AUTOMATION_KINDS } from '../core/automations/service.js';
import { defineTool, requireExports } from './define.js';
import { connectorId } from './schemas.js';
import { automationFields, automationLine, automationRef } from './automation_schemas.js';

export const createAutomation = defineTool({
  name: 'create_automation',
  title: 'Create automation',
  description:
    'Run an import or export on a schedule. Each run is a job (import_status; list_imports automation_id); a tick while the previous run goes on is skipped.',
  input: z.object({ kind: z.enum(AUTOMATION_KINDS), connector_id: connectorId, ...automationFields }),
  output: z.object({ automation: automationRef }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, ctx) {
    const { app, org } = ctx;
    requireExports(args.kind, ctx, 'kind');
    const automation = await app.automations.create(org, args);
    return { data: { automation }, summary: `created automation ${automationLine(automation)}` };
  },
});
