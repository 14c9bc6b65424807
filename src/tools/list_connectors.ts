import { z } from 'zod';
import { CONNECTOR_STATUSES } from '../core/connectors/service.js';
import { brief } from '../shared/text.js';
import { READ, defineTool } from './define.js';
import { connectorSummary, cursor, limit } from './schemas.js';

export const listConnectors = defineTool({
  name: 'list_connectors',
  title: 'List connectors',
  description: 'List connectors (id, name, status, health), optionally by status; get_connector shows one in full.',
  input: z.object({ status: z.enum(CONNECTOR_STATUSES).optional(), cursor, limit }),
  output: z.object({ connectors: z.array(connectorSummary), next_cursor: z.string().nullable() }),
  annotations: READ,
  async handler(args, { app, org }) {
    const full = await app.connectors.list(org, args);
    const r = {
      next_cursor: full.next_cursor,
      connectors: full.connectors.map(({ id, name, provider, bucket, status, last_sync_at, last_error }) => ({ id, name, provider, bucket, status, last_sync_at, last_error })),
    };
    const names = r.connectors.slice(0, 5).map((c) => `${c.id} "${brief(c.name, 40)}" ${c.status}`);
    return {
      data: r,
      summary: `${r.connectors.length} connector(s)${names.length ? ': ' + names.join('; ') : ''}${r.connectors.length > 5 ? '; …' : ''}${r.next_cursor ? ' (more: pass next_cursor)' : ''}`,
    };
  },
});
