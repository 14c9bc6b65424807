import { z } from 'zod';
import { defineTool } from './define.js';
import { automationId } from './automation_schemas.js';

export const deleteAutomation = defineTool({
  name: 'delete_automation',
  title: 'Delete automation',
  description: 'Delete an automation. Its jobs and imported items stay; a run in progress finishes.',
  input: z.object({ automation_id: automationId }),
  output: z.object({ deleted: z.boolean(), automation_id: z.string() }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handler(args, { app, org }) {
    await app.automations.delete(org, args.automation_id);
    return { data: { deleted: true, automation_id: args.automation_id }, summary: `deleted automation ${args.automation_id}` };
  },
});
