import { z } from 'zod';
import type { App } from '../core/app.js';
import { CloudportError } from '../shared/errors.js';
import type { Toolset } from './toolsets.js';

export interface ToolContext {
  app: App;
  org: string;
  readOnly: boolean;
  /** The toolsets this server exposes (--toolsets); null: all. */
  toolsets: readonly Toolset[] | null;
  /** Aborted when the client cancels the request (notifications/cancelled) or goes away. */
  signal: AbortSignal;
  /** Sends notifications/progress when the client asked for them with a progressToken. */
  progress?: (progress: number, total: number | undefined, message: string) => void;
}

export interface ToolResultData<O> {
  data: O;
  /** The first line of the text block; keys in it must go through escapeText/brief. */
  summary: string;
  /**
   * The whole text block, when the tool renders its own (a page as columns, a document's text).
   * Default: the summary line, then the structured result as compact JSON (see jsonText): an agent
   * that reads only the text gets every id, key, cursor and count.
   */
  text?: string;
}

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** One tool: its schema, annotations and a thin handler that calls core. */
export interface ToolDef<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  /** Advertise inputs without per-field descriptions (their meaning is documented by another tool). */
  terseInputs?: boolean;
  /** The MCP App view (io.modelcontextprotocol/ui) hosts may show with this tool's results. */
  view?: keyof typeof VIEW_URIS;
  handler(args: z.output<I>, ctx: ToolContext): Promise<ToolResultData<z.input<O>>>;
}

/** The views' resource URIs (the pages themselves are served by views.ts, above the tools). */
export const VIEW_URIS = { job: 'ui://cloudport/job.html', browse: 'ui://cloudport/browse.html' } as const;

export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(def: ToolDef<I, O>): ToolDef<I, O> {
  return def;
}

export const READ: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true };

/**
 * Export automations write to buckets as start_export does: a server whose --toolsets leave exports out
 * refuses to create or run them, so an agent cannot export by a route the operator closed.
 */
export function requireExports(kind: string, ctx: ToolContext, field: string): void {
  if (kind !== 'export' || !ctx.toolsets || ctx.toolsets.includes('exports')) return;
  throw new CloudportError('unsupported', `this server exposes no exports (--toolsets ${ctx.toolsets.join(',')}), so export automations are refused too`, {
    field,
    fix: 'Use kind "import", or ask the operator to add exports to --toolsets.',
  });
}
