// The baseline for tool overhead: a minimal MCP SDK server over stdio answering one tool from memory.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'minimal', version: '1.0.0' });
const connector = { id: 'conn_x', name: 'x', provider: 's3', bucket: 'b', status: 'ACTIVE' };
server.registerTool('get_connector', { description: 'one connector from memory', inputSchema: { connector_id: z.string() } }, async () => ({
  content: [{ type: 'text', text: 'conn_x' }],
  structuredContent: { connector },
}));
await server.connect(new StdioServerTransport());
