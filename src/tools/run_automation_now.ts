import { z } from 'zod';
import { defineTool, requireExports } from './define.js';
import { automationId, automationRef } from './automation_schemas.js';

export const runAutomationNow = defineTool({
  name: 'run_automation_now',
  title: 'Run automation now',
  description: "Start an automation's run now (the schedule stays). Refused while its last run is queued or running, or it is paused.",
  input: z.object({ automation_id: automationId }),
  output: z.object({ job_id: z.string(), automation: automationRef }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, ctx) {
    const { app, org } = ctx;
    requireExports((await app.automations.get(org, args.automation_id)).kind, ctx, 'automation_id');
    const r = await app.automations.runNow(org, args.automation_id);
    return { data: r, summary: `automation ${r.automation.id} started job ${r.job_id}; follow it with import_status` };
  },
});
