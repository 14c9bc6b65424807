import { z } from 'zod';
import { CONNECTOR_STATUSES, IMPORT_MODES, METADATA_MAX_DEPTH, SCOPES } from '../core/connectors/service.js';
import { FILE_STATES, JOB_KINDS, JOB_STATES, PROVIDER_NAMES, S3_BUCKET, registeredProviders, secretKeyFile, secretValue } from '../core/domain/vocabulary.js';
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

const SECRET = { $ref: '#/$defs/secret' };

/** A secret: the value, or an {env} / {file} reference (a key file is a longer one, advertised alike). */
function isSecret(field: z.ZodType): boolean {
  let f = field;
  while (f instanceof z.ZodOptional) f = f.unwrap() as z.ZodType;
  return f === secretValue || f === secretKeyFile;
}

/**
 * A credential field as advertised. Secret fields get no property of their own: every credentials
 * object takes its secrets as `additionalProperties` of the `secret` definition (the real union of a
 * string, {env} and {file}), and the description names them; ten identical references would cost more
 * than the rest of the credentials together.
 */
function advertisedField(field: z.ZodType): Record<string, unknown> {
  let f = field;
  while (f instanceof z.ZodOptional) f = f.unwrap() as z.ZodType;
  if (f instanceof z.ZodObject) {
    const shape = Object.entries(f.shape as Record<string, z.ZodType>).filter(([, v]) => !isSecret(v));
    return {
      type: 'object',
      ...(shape.length ? { properties: Object.fromEntries(shape.map(([k, v]) => [k, advertisedField(v)])) } : {}),
      additionalProperties: SECRET,
    };
  }
  const js = z.toJSONSchema(f, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete js.$schema;
  // Lengths of names and ids are checked when called; advertised, they would cost more than they tell.
  delete js.minLength;
  delete js.maxLength;
  const description = field.description ?? f.description;
  return description ? { ...js, description } : js;
}

/**
 * "field, optional?, object {inner}" for one credential type; an object with the same fields as a sibling
 * type says so instead of listing them again ("base? {as access_key}").
 */
function fieldNames(schema: z.ZodObject, siblings: readonly z.ZodObject[] = []): string {
  return Object.entries(schema.shape as Record<string, z.ZodType>)
    .filter(([name]) => name !== 'type')
    .map(([name, field]) => {
      let f = field;
      while (f instanceof z.ZodOptional) f = f.unwrap() as z.ZodType;
      let inner = '';
      if (f instanceof z.ZodObject) {
        const own = fieldNames(f);
        const same = siblings.find((s) => s !== schema && fieldNames(s) === own);
        inner = same ? ` {as ${String((same.shape as { type: z.ZodLiteral<string> }).type.value)}}` : ` {${own}}`;
      }
      return `${name}${field.safeParse(undefined).success ? '?' : ''}${inner}`;
    })
    .join(', ');
}

/**
 * The credentials union is advertised as one flat object (a `type` enum, the fields that are not
 * secrets, secrets as additional properties, and a line saying which types each provider takes with
 * which fields): the same contract at a fraction of the tokens. The full discriminated union still
 * validates every call.
 */
function flatCredentialsSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = { type: { type: 'string', enum: [...byType.keys()] } };
  for (const schema of byType.values()) {
    for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      if (name === 'type' || properties[name] || isSecret(field)) continue;
      const advertised = advertisedField(field);
      // Plain strings are named in the description and fit `additionalProperties` (a string is a
      // secret's value form): only fields of another type need a property of their own.
      if (advertised.type !== 'string') properties[name] = advertised;
    }
  }
  const perProvider = registeredProviders().map((p) => {
    const types = p.credentialSchemas.map((schema) => {
      const type = String((schema.shape as { type: z.ZodLiteral<string> }).type.value);
      const fields = fieldNames(schema as z.ZodObject, p.credentialSchemas as z.ZodObject[]);
      return fields ? `${type} {${fields}}` : type;
    });
    return `${p.name}: ${types.join(', ')}`;
  });
  return {
    type: 'object',
    properties,
    additionalProperties: SECRET,
    required: ['type'],
    description: `${perProvider.join('; ')}. Other fields are secrets.`,
  };
}

export const credentialsInput = advertise(
  z.discriminatedUnion('type', credentialSchemas as unknown as [z.ZodObject<{ type: z.ZodLiteral<string> }>, ...z.ZodObject<{ type: z.ZodLiteral<string> }>[]]),
  flatCredentialsSchema(),
);

/** Location fields of every registered provider; each provider checks which of them it needs. */
const locationFields = Object.assign({}, ...registeredProviders().map((p) => p.locationFields)) as Record<string, z.ZodType>;
/** A location field as advertised: its type and description (lengths are checked when called). */
function advertisedLocation(field: z.ZodType): z.ZodType {
  const js = z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete js.$schema;
  delete js.minLength;
  delete js.maxLength;
  return advertise(field, js);
}
const optionalLocation = Object.fromEntries(Object.entries(locationFields).map(([k, v]) => [k, advertisedLocation(v).optional()]));
/**
 * Each provider checks the bucket name its own way (validateLocation); the rule advertised is s3's, the
 * loosest (gcs's names are a subset of it, azure_blob names its container in `container`), so the schema
 * never turns away a name some provider accepts. Validation is the field's own, unchanged.
 */
optionalLocation.bucket = advertise(locationFields.bucket!, {
  type: 'string',
  minLength: 3,
  maxLength: 255,
  pattern: S3_BUCKET.source,
  description: 's3, gcs; azure_blob: container.',
}).optional();

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
  name: z.string().min(1).max(100),
  provider: z.enum(PROVIDER_NAMES),
  ...(optionalLocation as { bucket: z.ZodOptional<z.ZodString>; region: z.ZodOptional<z.ZodString>; endpoint: z.ZodOptional<z.ZodString> }),
  credentials: credentialsInput,
  scopes: z.array(z.enum(SCOPES)).min(1).max(2).optional().describe('Default import.'),
  import_mode: z.enum(IMPORT_MODES).optional().describe('new_only skips unchanged keys; default all.'),
  export_base_path: z.string().max(1024).optional().describe('Export prefix.'),
  description: z.string().max(500).optional(),
  metadata: metadataInput.optional(),
  validate: z.boolean().optional().describe('Test first (default).'),
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
export const connectorRef = seeAlso(connectorOut, 'As get_connector returns it.');

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
/** A job's status in results other than import_status: its states are listed once, by import_status and list_imports. */
export const jobStatusOut = advertise(jobStatus, { type: 'string' });
/** File states as agents see them: an export's files end in "exported" (the store's "ready"). */
export const fileState = z.enum([...FILE_STATES, 'exported']);
export const jobKind = z.enum(JOB_KINDS);
export const jobKindOut = advertise(jobKind, { type: 'string' });
/** A job's counts as one line of text: what import_status and cancel_import say of a job. */
export function countsText(kind: string, c: z.infer<typeof counts>): string {
  const done = kind === 'export' ? `${c.exported ?? 0} exported` : `${c.ready ?? 0} ready, ${c.deduped ?? 0} deduped`;
  return `${done}, ${c.skipped} skipped, ${c.failed} failed, ${c.pending} pending${c.canceled ? `, ${c.canceled} canceled` : ''}`;
}

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
