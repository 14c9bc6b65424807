import { z } from 'zod';
import { defineTool } from './define.js';
import { automationFields, automationId, automationLine, automationRef } from './automation_schemas.js';

export const updateAutomation = defineTool({
  name: 'update_automation',
  title: 'Update automation',
  description: 'Change an automation; fields as in create_automation (enabled: false stops it). A new schedule, or enabling, counts from now.',
  terseInputs: true,
  input: z.object({ automation_id: automationId, ...automationFields, index: automationFields.index.optional(), schedule: automationFields.schedule.optional() }),
  output: z.object({ automation: automationRef }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, { app, org }) {
    const { automation_id, ...patch } = args;
    const automation = await app.automations.update(org, automation_id, patch);
    return { data: { automation }, summary: `updated automation ${automationLine(automation)}` };
  },
});
