/**
 * The MCP request handlers that a register function installs, by method, on a stand-in for the SDK's
 * Server (the handlers are registered with a schema of the method alone: src/requests.ts).
 */
export function handlersOf(register: (server: never) => void): Map<string, (req: unknown) => Promise<unknown>> {
  const handlers = new Map<string, (req: unknown) => Promise<unknown>>();
  const server = { setRequestHandler: (schema: { shape: { method: { value: string } } }, fn: (req: unknown) => Promise<unknown>) => handlers.set(schema.shape.method.value, fn) };
  register(server as never);
  return handlers;
}
