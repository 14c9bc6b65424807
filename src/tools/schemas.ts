import { z } from 'zod';
import { CONNECTOR_STATUSES, IMPORT_MODES, METADATA_MAX_DEPTH, SCOPES } from '../core/connectors.js';
import { PROVIDER_NAMES, registeredProviders } from '../providers/index.js';
import { FILE_STATES, JOB_STATES } from '../store/types.js';
import { nestedDeeperThan } from '../shared/depth.js';

/** Shared zod pieces for tool inputs and outputs. Descriptions are short: agents pay for every token. */

/** Validates with the full schema but advertises `json` in tools/list (see server.ts). */
export function advertise<T extends z.ZodType>(schema: T, json: Record<string, unknown>): T {
  return schema.meta({ advertise: json }) as T;
}

/**
 * Validates with the full schema but advertises `{type: "object", description: text}`: for a shape
 * that another tool's schema documents in full. Agents pay for every token of tools/list.
 */
export function seeAlso<T extends z.ZodType>(schema: T, text: string): T {
  return advertise(schema, { type: 'object', description: text });
}

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

/**
 * The credentials union is advertised as one flat object (a `type` enum, every field once, and a
 * line saying which fields each type takes): the same contract at a fraction of the tokens. The
 * full discriminated union still validates every call.
 */
function flatCredentialsSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = { type: { type: 'string', enum: [...byType.keys()] } };
  const perType: string[] = [];
  for (const [type, schema] of byType) {
    const fields: string[] = [];
    for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      if (name === 'type') continue;
      const optional = field.safeParse(undefined).success;
      fields.push(optional ? `${name}?` : name);
      if (!properties[name]) {
        const js = z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
        delete js.$schema;
        const isSecret = JSON.stringify(js).includes('"env"');
        const isObject = (js as { type?: string }).type === 'object';
        // A secret (string or reference) is described once, in the object's description.
        properties[name] = isObject ? { type: 'object', description: js.description } : isSecret ? {} : js;
      }
    }
    perType.push(`${type}: ${fields.join(', ') || '(no fields)'}`);
  }
  return {
    type: 'object',
    properties,
    required: ['type'],
    description: `Fields by type: ${perType.join('; ')}. Secret fields (keys, tokens, json, base's keys) take a string or an {env: "VAR"} / {file: "/path"} reference resolved by the server, so secrets never pass through chat.`,
  };
}

export const credentialsInput = advertise(
  z.discriminatedUnion('type', credentialSchemas as unknown as [z.ZodObject<{ type: z.ZodLiteral<string> }>, ...z.ZodObject<{ type: z.ZodLiteral<string> }>[]]),
  flatCredentialsSchema(),
);

/** Location fields of every registered provider; each provider checks which of them it needs. */
const locationFields = Object.assign({}, ...registeredProviders().map((p) => p.locationFields)) as Record<string, z.ZodType>;
const optionalLocation = Object.fromEntries(Object.entries(locationFields).map(([k, v]) => [k, v.optional()]));

export const connectorId = z.string().min(1).max(100);
export const limit = z.number().int().min(1).max(1000).default(100);
export const cursor = z.string().max(4096).optional();

/** Free-form labels: bounded in depth here (in size by the connector checks), so no deep value reaches code that recurses. */
export const metadataInput = z.record(z.string(), z.unknown()).superRefine((m, ctx) => {
  if (nestedDeeperThan(m, METADATA_MAX_DEPTH)) {
    ctx.addIssue({
      code: 'custom',
      message: `nested more than ${METADATA_MAX_DEPTH} levels deep (objects and arrays)`,
      params: { fix: 'Keep metadata flat: labels and ids, e.g. {"team": "data", "ticket": "OPS-12"}.' },
    });
  }
});

export const connectorFields = {
  name: z.string().min(1).max(100).describe('Unique name.'),
  provider: z.enum(PROVIDER_NAMES),
  ...(optionalLocation as { bucket: z.ZodOptional<z.ZodString>; region: z.ZodOptional<z.ZodString>; endpoint: z.ZodOptional<z.ZodString> }),
  credentials: credentialsInput,
  scopes: z.array(z.enum(SCOPES)).min(1).max(2).optional().describe('Default ["import"].'),
  import_mode: z.enum(IMPORT_MODES).optional().describe('all (default) or new_only: skip keys already imported unchanged.'),
  export_base_path: z.string().max(1024).optional().describe('Prefix for exports and the write probe.'),
  description: z.string().max(500).optional(),
  metadata: metadataInput.optional(),
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
/** File states as agents see them: an export's files end in "exported" (the store's "ready"). */
export const fileState = z.enum([...FILE_STATES, 'exported']);
export const jobKind = z.enum(['import', 'export']);
/** Imports count ready and deduped files, exports count exported ones. */
export const counts = z.object({
  pending: z.number(),
  ready: z.number().optional(),
  deduped: z.number().optional(),
  exported: z.number().optional(),
  skipped: z.number(),
  failed: z.number(),
  canceled: z.number(),
});
