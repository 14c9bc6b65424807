import { z } from 'zod';
import { CONNECTOR_STATUSES } from '../core/connectors.js';
import { brief } from '../shared/text.js';
import { READ, defineTool } from './define.js';
import { connectorOut, cursor, limit } from './schemas.js';

export const listConnectors = defineTool({
  name: 'list_connectors',
  title: 'List connectors',
  description: 'List storage connectors, optionally by status.',
  input: z.object({ status: z.enum(CONNECTOR_STATUSES).optional(), cursor, limit }),
  output: z.object({ connectors: z.array(connectorOut), next_cursor: z.string().nullable() }),
  annotations: READ,
  async handler(args, { app, org }) {
    const r = await app.connectors.list(org, args);
    const names = r.connectors.slice(0, 5).map((c) => `${c.id} "${brief(c.name, 40)}" ${c.status}`);
    return {
      data: r,
      summary: `${r.connectors.length} connector(s)${names.length ? ': ' + names.join('; ') : ''}${r.connectors.length > 5 ? '; …' : ''}${r.next_cursor ? ' (more: pass next_cursor)' : ''}`,
    };
  },
});
