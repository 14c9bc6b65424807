/**
 * Groups of tools a deployment exposes (--toolsets, as in github-mcp-server): fewer tools, a smaller
 * tools/list for agents that pay for every token. Kept apart from the tools themselves so the command
 * line is checked without loading them.
 */
export const TOOLSET_NAMES = ['connectors', 'imports', 'indexes', 'exports', 'automations', 'search'] as const;
export type Toolset = (typeof TOOLSET_NAMES)[number];
