import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { ErrorCode, type ServerNotification, type ServerRequest, type ServerResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/**
 * A JSON-RPC error whose message is the text itself: the SDK's McpError puts "MCP error <code>: " in
 * the message it sends, and the client's McpError adds it again.
 */
export function rpcError(code: number, message: string, data?: unknown): Error {
  return Object.assign(new Error(message), { code, ...(data !== undefined ? { data } : {}) });
}

type RequestSchema = z.ZodObject<{ method: z.ZodLiteral<string> } & z.ZodRawShape>;

/**
 * Registers a request handler whose malformed params answer -32602 (Invalid params) in one line naming
 * the field, where the SDK's own parse answered -32603 (Internal error) with zod's issues as
 * pretty-printed JSON. The SDK sees a schema of the method alone; the request's own schema is checked
 * here. (tools/call keeps the SDK's check of CallToolRequestSchema, which answers -32602 itself.)
 */
export function onRequest<S extends RequestSchema>(
  server: Server,
  schema: S,
  handler: (req: z.infer<S>, extra: RequestHandlerExtra<ServerRequest, ServerNotification>) => ServerResult | Promise<ServerResult>,
): void {
  const method = schema.shape.method.value;
  const loose = z.object({ method: z.literal(method) }).loose();
  server.setRequestHandler(loose, (req, extra) => {
    const parsed = schema.safeParse(req);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'request'}: ${i.message}`);
      throw rpcError(ErrorCode.InvalidParams, `invalid ${method} request: ${issues.slice(0, 3).join('; ')}`.slice(0, 500));
    }
    return handler(parsed.data, extra);
  });
}
