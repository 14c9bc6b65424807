import { z } from 'zod';
import { CONNECTOR_STATUSES, IMPORT_MODES, SCOPES } from '../core/connectors.js';
import { PROVIDER_NAMES, registeredProviders } from '../providers/index.js';
import { FILE_STATES, JOB_STATES } from '../store/types.js';

/** Shared zod pieces for tool inputs and outputs. Descriptions are short: agents pay for every token. */

/**
 * Every registered provider's credential types as one discriminated union. Providers may share a
 * type (e.g. "default"): their shapes are merged here, and each provider checks its own strictly.
 */
const byType = new Map<string, z.ZodObject>();
for (const schema of registeredProviders().flatMap((p) => p.credentialSchemas)) {
  const type = String((schema.shape as { type: z.ZodLiteral<string> }).type.value);
  const seen = byType.get(type);
  byType.set(type, seen ? z.object({ ...seen.shape, ...schema.shape }).strict().describe([seen.description, schema.description].filter(Boolean).join(' ')) : schema);
}
const credentialSchemas = [...byType.values()];
export const credentialsInput = z
  .discriminatedUnion('type', credentialSchemas as unknown as [z.ZodObject<{ type: z.ZodLiteral<string> }>, ...z.ZodObject<{ type: z.ZodLiteral<string> }>[]])
  .describe('Each secret may be a literal or {env:"VAR"} / {file:"/path"} resolved by the server, so it never passes through chat.');

/** Location fields of every registered provider; each provider checks which of them it needs. */
const locationFields = Object.assign({}, ...registeredProviders().map((p) => p.locationFields)) as Record<string, z.ZodType>;
const optionalLocation = Object.fromEntries(Object.entries(locationFields).map(([k, v]) => [k, v.optional()]));

/**
 * Validates with the full schema but advertises `{type: "object", description: text}`: for a shape
 * that another tool's schema documents in full. Agents pay for every token of tools/list.
 */
export function seeAlso<T extends z.ZodType>(schema: T, text: string): T {
  return schema.meta({ seeAlso: text }) as T;
}

export const connectorId = z.string().min(1).max(100);
export const limit = z.number().int().min(1).max(1000).default(100);
export const cursor = z.string().max(4096).optional();

export const connectorFields = {
  name: z.string().min(1).max(100).describe('Unique name.'),
  provider: z.enum(PROVIDER_NAMES),
  ...(optionalLocation as { bucket: z.ZodOptional<z.ZodString>; region: z.ZodOptional<z.ZodString>; endpoint: z.ZodOptional<z.ZodString> }),
  credentials: credentialsInput,
  scopes: z.array(z.enum(SCOPES)).min(1).max(2).optional().describe('Default ["import"].'),
  import_mode: z.enum(IMPORT_MODES).optional().describe('all (default) or new_only: skip keys already imported unchanged.'),
  export_base_path: z.string().max(1024).optional().describe('Prefix for exports and the write probe.'),
  description: z.string().max(500).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  validate: z.boolean().optional().describe('Test before saving (default true).'),
};

export const connectorOut = z.object({
  id: z.string(),
  name: z.string(),
  provider: z.string(),
  bucket: z.string(),
  region: z.string().nullable(),
  endpoint: z.string().nullable(),
  location: z.record(z.string(), z.unknown()).optional(),
  scopes: z.array(z.string()),
  import_mode: z.string(),
  export_base_path: z.string(),
  description: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  status: z.enum(CONNECTOR_STATUSES),
  is_active: z.boolean(),
  last_sync_at: z.string().nullable(),
  last_error: z.string().nullable(),
  consecutive_failures: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
  credentials: z.object({
    type: z.string(),
    hint: z.string().optional(),
    refs: z.array(z.object({ field: z.string(), env: z.string().optional(), file: z.string().optional() })).optional(),
  }),
});

/** The connector in results of create/update: documented in full by get_connector's output schema. */
export const connectorRef = seeAlso(connectorOut, 'The connector, as get_connector returns it.');

/** A connector row in list results: what an agent needs to pick one. */
export const connectorSummary = connectorOut.pick({ id: true, name: true, provider: true, bucket: true, status: true, last_sync_at: true, last_error: true });

export const checkOut = z.object({
  name: z.enum(['auth', 'list', 'read', 'write']),
  ok: z.boolean(),
  status: z.enum(['passed', 'failed', 'skipped']),
  detail: z.string().optional(),
  fix: z.string().optional(),
});

export const jobStatus = z.enum(JOB_STATES);
export const fileState = z.enum(FILE_STATES);
export const counts = z.object({
  pending: z.number(),
  ready: z.number(),
  deduped: z.number(),
  skipped: z.number(),
  failed: z.number(),
  canceled: z.number(),
});
