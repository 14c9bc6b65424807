import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolRequest, type CallToolResult, type ServerNotification, type ServerRequest, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';
import type { App } from './core/app.js';
import { CloudportError, asCloudportError } from './shared/errors.js';
import { redact, redactValue } from './shared/redact.js';
import { escapeText, jsonText } from './shared/text.js';
import type { Logger } from './shared/log.js';
import { TOOLS, toolEnabled, toolsetsOf } from './tools/index.js';
import type { Toolset } from './tools/toolsets.js';
import { VIEW_URIS, type ToolDef } from './tools/define.js';
import { onRequest } from './requests.js';
import { isStoreFull } from './core/jobs/store-health.js';
import { registerResources } from './resources.js';

export const SERVER_NAME = 'cloudport';

const INSTRUCTIONS =
  'cloudport connects cloud storage buckets and imports files into local indexes. Typical flow: create_connector → test_connector → browse_connector → start_import → import_status (until final) → search_index / list_index_items / read_item (documents are read as their extracted text; search_index results carry the offset to read). start_export writes an index back to a bucket (export scope); import_status, list_imports, import_logs and cancel_import serve export jobs too. Secrets can be given as {env:"VAR"} or {file:"/path"} so they never pass through chat. Failed calls return isError with structuredContent.error = {kind, message, field?, fix?, temporary}.';


const SAFE_INT = Number.MAX_SAFE_INTEGER;

/** Bounds zod adds to every integer (±2^53−1) and a record's no-op constraints say nothing an agent needs: they are not advertised. */
function dropNoise(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(dropNoise);
  if (!node || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  if (o.maximum === SAFE_INT) delete o.maximum;
  if (o.minimum === -SAFE_INT) delete o.minimum;
  // A record's "keys are strings, values anything" is what an object without them means already.
  if (o.type === 'object' && JSON.stringify(o.propertyNames) === '{"type":"string"}') delete o.propertyNames;
  if (o.type === 'object' && JSON.stringify(o.additionalProperties) === '{}') delete o.additionalProperties;
  for (const v of Object.values(o)) dropNoise(v);
}

/**
 * Keeps only the `$defs` something refers to (a shape advertised another way leaves its definitions
 * behind), and fails loudly on a reference to a definition that is not there.
 */
function pruneDefs(schema: Record<string, unknown>): void {
  const defs = (schema.$defs ?? {}) as Record<string, unknown>;
  const used = new Set<string>();
  const visit = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') {
        const name = v.startsWith('#/$defs/') ? v.slice('#/$defs/'.length) : undefined;
        if (name === undefined || !(name in defs)) throw new Error(`advertised schema refers to ${v}, which it does not define`);
        if (!used.has(name)) {
          used.add(name);
          visit(defs[name]);
        }
      } else if (k !== '$defs') visit(v);
    }
  };
  visit(schema);
  for (const name of Object.keys(defs)) if (!used.has(name)) delete defs[name];
  if (!Object.keys(defs).length) delete schema.$defs;
}

/**
 * Input length bounds an agent does not reach (100 characters and more: ids, names, keys, paths, URLs,
 * cursors, secrets) and "not empty" are not advertised: they cost tokens in every tools/list and guide
 * no call. The server still enforces them, and its error names the field and the limit. A string with a
 * pattern keeps its bounds: they are part of the rule it states (e.g. bucket names).
 */
function dropUnreachableBounds(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(dropUnreachableBounds);
  if (!node || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  if (o.pattern === undefined) {
    if (typeof o.maxLength === 'number' && o.maxLength >= 100) delete o.maxLength;
    if (o.minLength === 1) delete o.minLength;
  }
  for (const v of Object.values(o)) dropUnreachableBounds(v);
}

/**
 * An input schema as advertised: unknown fields are refused at call time with an error that names them,
 * so the closed-object marker is not repeated in every tool.
 */
function inputSchema(tool: ToolDef): Tool['inputSchema'] {
  const s = jsonSchema(tool.input.strict(), 'input');
  delete s.additionalProperties;
  return (tool.terseInputs ? terse(s) : s) as Tool['inputSchema'];
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const s = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    // A shape documented in full by another tool is advertised as a one-line reference (see tools/schemas.ts `seeAlso`).
    override: (ctx) => {
      const shown = (z.globalRegistry.get(ctx.zodSchema) as { advertise?: Record<string, unknown> } | undefined)?.advertise;
      if (!shown) return;
      for (const k of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Record<string, unknown>)[k];
      Object.assign(ctx.jsonSchema, structuredClone(shown));
    },
  }) as Record<string, unknown>;
  delete s.$schema;
  dropNoise(s);
  if (io === 'input') dropUnreachableBounds(s);
  pruneDefs(s);
  return s;
}

/** A nested object's fields in one line, "{key, size, error?, sub {a, b}}": optional fields end in "?". */
function fieldList(s: Record<string, unknown>): string | undefined {
  const props = s.properties as Record<string, Record<string, unknown>> | undefined;
  if (!props) return undefined;
  const required = new Set((s.required as string[] | undefined) ?? []);
  return `{${Object.entries(props)
    .map(([k, v]) => {
      const inner = fieldList(v) ?? (v.items ? fieldList(v.items as Record<string, unknown>) : undefined);
      return `${k}${required.has(k) ? '' : '?'}${inner ? (v.items ? ` [${inner}]` : ` ${inner}`) : ''}`;
    })
    .join(', ')}}`;
}

/** {anyOf: [X, {type: "null"}]} is X with "null" among its types: the same contract, shorter. */
function nullable(s: Record<string, unknown>): Record<string, unknown> {
  const anyOf = s.anyOf as Record<string, unknown>[] | undefined;
  if (anyOf?.length !== 2 || anyOf[1]!.type !== 'null' || typeof anyOf[0]!.type !== 'string') return s;
  const { anyOf: _a, ...rest } = s;
  const x = anyOf[0]!;
  return { ...rest, ...x, type: [x.type, 'null'], ...(x.enum ? { enum: [...(x.enum as unknown[]), null] } : {}) };
}

/**
 * Output schemas say what matters and no more: agents pay for every token, and every result also carries
 * a text summary. Top-level fields keep their types, enums and descriptions; a nested object (a connector,
 * counts) is "object" and a list of them "array", with the fields' names in one line ("of {key, size}");
 * validation-only detail (closed objects, safe-integer bounds) goes.
 */
function compact(root: Record<string, unknown>): Record<string, unknown> {
  const field = (raw: Record<string, unknown>): Record<string, unknown> => {
    const s = nullable(raw);
    const { additionalProperties: _a, propertyNames: _p, properties: _pr, required: _r, items, ...rest } = s;
    const own = fieldList(s);
    if (own) return { ...rest, ...(rest.description ? {} : { description: own }) };
    const item = items as Record<string, unknown> | undefined;
    if (!item) return rest;
    const rows = fieldList(item);
    return rows ? { ...rest, ...(rest.description ? {} : { description: `of ${rows}` }) } : { ...rest, items: field(item) };
  };
  const { additionalProperties: _a, propertyNames: _p, properties, ...rest } = root;
  return { ...rest, properties: Object.fromEntries(Object.entries(properties as Record<string, Record<string, unknown>>).map(([k, v]) => [k, field(v)])) };
}

/** Drops per-field descriptions (for tools whose fields another tool documents). */
function terse(schema: Record<string, unknown>): Record<string, unknown> {
  const props = schema.properties as Record<string, Record<string, unknown>>;
  for (const p of Object.values(props)) if (p.type !== 'object') delete p.description;
  return schema;
}

/**
 * An output schema is an open object of the result's fields, so an error result (structuredContent =
 * {error: {kind, message, field?, fix?, temporary}}, described once in the server instructions) matches
 * it too: the SDK client validates the structured content of error results as well. Which fields a
 * result always carries is not advertised; nullable fields say so in their type.
 */
function outputSchema(tool: ToolDef): Tool['outputSchema'] {
  const s = compact(jsonSchema(tool.output, 'output'));
  if ((s.properties as Record<string, unknown>).error) throw new Error(`${tool.name}: output field "error" is reserved for error results`);
  const { required: _r, ...rest } = s;
  return { ...rest, type: 'object' } as Tool['outputSchema'];
}

/**
 * Annotations as advertised: a hint is left out where its absence reads the same under the spec's
 * default and under a plain truthiness check (readOnlyHint and idempotentHint when false), and
 * destructive/idempotent hints of read-only tools, which the spec calls meaningless there.
 * destructiveHint (default true) and openWorldHint (default true) stay explicit wherever they apply, so a
 * client that only checks `=== true` or `=== false` still confirms the same calls.
 */
function advertisedAnnotations(a: ToolDef['annotations']): NonNullable<Tool['annotations']> {
  if (a.readOnlyHint) return { readOnlyHint: true, openWorldHint: a.openWorldHint };
  return { destructiveHint: a.destructiveHint, ...(a.idempotentHint ? { idempotentHint: true } : {}), openWorldHint: a.openWorldHint };
}

/**
 * The tool definitions as advertised in tools/list (also written to tool-schemas/ and the README): every
 * tool of the enabled toolsets (null: all), only read-only ones on a read-only server.
 */
export function toolDefinitions(readOnly = false, toolsets: readonly Toolset[] | null = null): Tool[] {
  return TOOLS.filter((t) => (!readOnly || t.annotations.readOnlyHint) && toolEnabled(t.name, toolsets)).map((t) => ({
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: inputSchema(t),
    outputSchema: outputSchema(t),
    annotations: advertisedAnnotations(t.annotations),
    // The flat "ui/resourceUri" is the key hosts of the extension's first releases read.
    ...(t.view ? { _meta: { ui: { resourceUri: VIEW_URIS[t.view] }, 'ui/resourceUri': VIEW_URIS[t.view] } } : {}),
  }));
}

function fieldPath(path: PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

/** An error as a tool result, scrubbed of the secrets of `org` (the caller's organization) and the operator's. */
export function errorResult(e: unknown, org?: string): CallToolResult {
  const err = asCloudportError(e);
  const info = err.toInfo();
  info.message = redact(info.message, org);
  const details = err.details ? (redactValue(err.details, org) as Record<string, unknown>) : null;
  // The error line, then any details (e.g. the checks that failed) as compact JSON.
  // The field too: an unknown field's name is the caller's text (a line break in it would forge a line).
  const text = `${info.kind}: ${escapeText(info.message)}${info.field ? ` [${escapeText(info.field)}]` : ''}${info.fix ? ` Fix: ${escapeText(info.fix)}` : ''}${details ? `\n${jsonText(details)}` : ''}`;
  return {
    isError: true,
    content: [{ type: 'text', text }],
    structuredContent: { error: info, ...(details ?? {}) },
  };
}

function valueAt(args: unknown, path: PropertyKey[]): unknown {
  let v: unknown = args;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/**
 * The schema of the input field at `path` (through optional, default, nullable and arrays), if the walk
 * finds one; `wrapped`: as the object declares it (its optional or default kept).
 */
function schemaAt(root: z.ZodType, path: PropertyKey[], wrapped = false): z.ZodType | undefined {
  let cur: z.ZodType | undefined = root;
  const unwrap = (t: z.ZodType | undefined): z.ZodType | undefined => {
    for (let i = 0; t && i < 10; i++) {
      const def = (t as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def;
      if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') && def.innerType) t = def.innerType;
      else break;
    }
    return t;
  };
  type Def = { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; options?: z.ZodType[] };
  const defOf = (t: z.ZodType | undefined) => (t as unknown as { _zod: { def: Def } } | undefined)?._zod.def;
  for (const p of path) {
    cur = unwrap(cur);
    let def = defOf(cur);
    // A union of objects (credentials by type): the first option that has the field.
    if (def?.type === 'union' && typeof p === 'string') {
      cur = def.options?.map(unwrap).find((o) => defOf(o)?.type === 'object' && defOf(o)!.shape?.[p] !== undefined);
      def = defOf(cur);
    }
    if (def?.type === 'object' && typeof p === 'string') cur = def.shape?.[p];
    else if (def?.type === 'array' && typeof p === 'number') cur = def.element;
    else return undefined;
  }
  return wrapped ? cur : unwrap(cur);
}

/**
 * The shapes a union field accepts, as an agent can write them: `one of: "a", "b"` for values, else
 * each option (`a string`, `{"env": …}`); null when an option is of another kind.
 */
function unionShapes(schema: z.ZodType | undefined): string | null {
  type Def = { type: string; options?: z.ZodType[]; entries?: Record<string, unknown>; values?: unknown[]; shape?: Record<string, z.ZodType>; innerType?: z.ZodType };
  const defOf = (t: z.ZodType) => (t as unknown as { _zod: { def: Def } })._zod.def;
  const def = schema ? defOf(schema) : undefined;
  if (def?.type !== 'union' || !def.options) return null;
  const values: unknown[] = [];
  const shapes: string[] = [];
  for (let o of def.options) {
    while (defOf(o).type === 'optional' && defOf(o).innerType) o = defOf(o).innerType!;
    const d = defOf(o);
    if (d.type === 'enum' && d.entries) values.push(...Object.values(d.entries));
    else if (d.type === 'literal' && d.values) values.push(...d.values);
    else if (d.type === 'string' || d.type === 'number' || d.type === 'boolean') shapes.push(`a ${d.type}`);
    else if (d.type === 'object' && d.shape) shapes.push(`{${Object.keys(d.shape).map((k) => `${JSON.stringify(k)}: …`).join(', ')}}`);
    else if (d.type === 'array') {
      const el = (d as { element?: z.ZodType }).element;
      const t = el ? defOf(el).type : '';
      shapes.push(t === 'string' || t === 'number' || t === 'boolean' ? `an array of ${t}s` : 'an array');
    } else return null;
  }
  if (!shapes.length) return `one of: ${quoteAll(values)}`;
  return [...shapes, ...(values.length ? [`one of ${quoteAll(values)}`] : [])].join('; or ');
}

/**
 * The values a field takes across the options of the union of objects that holds it (credentials.type:
 * "access_key", "assume_role", …), or undefined: a missing or misspelled discriminator names them all.
 */
function fieldValues(root: z.ZodType, path: PropertyKey[]): string | undefined {
  const leaf = path[path.length - 1];
  if (typeof leaf !== 'string') return undefined;
  type Def = { type: string; options?: z.ZodType[]; shape?: Record<string, z.ZodType>; values?: unknown[]; innerType?: z.ZodType };
  const defOf = (t: z.ZodType) => (t as unknown as { _zod: { def: Def } })._zod.def;
  let parent = path.length > 1 ? schemaAt(root, path.slice(0, -1), true) : root;
  while (parent && defOf(parent).innerType && defOf(parent).type !== 'union') parent = defOf(parent).innerType;
  const def = parent ? defOf(parent) : undefined;
  if (def?.type !== 'union' || !def.options) return undefined;
  const values = def.options.flatMap((o) => {
    const f = defOf(o).shape?.[leaf];
    return f && defOf(f).type === 'literal' ? (defOf(f).values ?? []) : [];
  });
  return values.length ? quoteAll([...new Set(values)]) : undefined;
}

/** Where an agent finds a valid value for the id fields most tools take. */
const FINDERS: Record<string, string> = {
  connector_id: 'list_connectors shows the connectors',
  job_id: 'list_imports shows the jobs',
  retry_of: 'list_imports shows the jobs',
  index: 'list_indexes shows the indexes',
  automation_id: 'list_automations shows the automations',
  key: 'list_index_items shows the keys',
};

const quoteAll = (values: readonly unknown[]) => values.map((v) => JSON.stringify(v)).join(', ');

/** What to give instead, from the failed zod issue and the field's own schema: every validation error says how to put it right. */
function validationFix(issue: z.core.$ZodIssue, field: string, schema: z.ZodType | undefined, missing: boolean, nullForOptional = false, alternatives?: string): string {
  const name = field.replace(/\[\d+\]$/, '');
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  // An array's item ("keys[0]") is fixed item by item: "Give keys as a string" would contradict the array.
  const subject = name !== field ? `each item of ${leaf}` : leaf;
  const where = FINDERS[leaf] ? ` (${FINDERS[leaf]})` : '';
  const desc = schema?.description ? ` ${schema.description}` : '';
  const num = schema as unknown as { minValue?: number | null; maxValue?: number | null; minLength?: number | null; maxLength?: number | null } | undefined;
  const range = (lo: number | null | undefined, hi: number | null | undefined, unit: string) =>
    lo !== null && lo !== undefined && Number.isFinite(lo) && hi !== null && hi !== undefined && Number.isFinite(hi)
      ? `from ${lo} to ${hi}${unit}`
      : hi !== null && hi !== undefined && Number.isFinite(hi)
        ? `of at most ${hi}${unit}`
        : `of at least ${lo ?? 0}${unit}`;
  const i = issue as z.core.$ZodIssue & { origin?: string; minimum?: number | bigint; maximum?: number | bigint; values?: unknown[]; expected?: string; format?: string; keys?: string[] };
  switch (i.code) {
    case 'too_big':
    case 'too_small': {
      const bound = Number(i.code === 'too_big' ? i.maximum : i.minimum);
      if (i.origin === 'number' || i.origin === 'int' || i.origin === 'bigint') {
        const lo = i.code === 'too_small' ? bound : num?.minValue;
        const hi = i.code === 'too_big' ? bound : num?.maxValue;
        return `Give a value ${range(lo, hi, '')}.`;
      }
      if (i.origin === 'string') {
        if (i.code === 'too_small' && bound <= 1) return `Give a non-empty string${where}.`;
        return `Give a string ${range(i.code === 'too_small' ? bound : num?.minLength, i.code === 'too_big' ? bound : num?.maxLength, ' characters')}.`;
      }
      if (i.origin === 'array' || i.origin === 'set') {
        return i.code === 'too_big' ? `Give at most ${bound} item(s); split the rest into further calls.` : `Give at least ${bound} item(s), or leave ${leaf} out.`;
      }
      return i.code === 'too_big' ? `Give at most ${bound}.` : `Give at least ${bound}.`;
    }
    case 'invalid_value':
      // null for an optional filter means "no filter": leaving it out says so, picking a value would not.
      if (nullForOptional) return `Leave ${leaf} out rather than null.`;
      return `Use one of: ${quoteAll(i.values ?? [])}.`;
    case 'invalid_type': {
      const expected = i.expected === 'int' ? 'a whole number' : i.expected === 'array' ? 'an array' : i.expected === 'object' ? 'an object' : `a ${i.expected ?? 'value'}`;
      if (missing) return `Give ${leaf}: ${expected}${where}.${desc}`.trim();
      // null for an optional field (a result's null next_cursor passed back): it is left out, not nulled.
      if (nullForOptional) {
        const end = leaf === 'cursor' ? ': a null next_cursor means there is no next page' : leaf === 'offset' ? ': a null next_offset means the text ends there' : '';
        return `Leave ${leaf} out rather than null${end}.`;
      }
      if (i.expected === 'int') return `Give a whole number${num ? ` ${range(num.minValue, num.maxValue, '')}` : ''}.`;
      const received = /received (\w+)/.exec(i.message)?.[1];
      return `Give ${subject} as ${expected}${i.expected === 'number' ? ` (a JSON number${received && received !== 'number' ? `, not a ${received}` : ''})` : ''}.`;
    }
    case 'invalid_format':
      return `Give ${leaf} in the ${i.format ?? 'expected'} format.${desc}`.trim();
    case 'invalid_union': {
      if (nullForOptional) return `Leave ${leaf} out rather than null.`;
      const shapes = unionShapes(schema) ?? (alternatives ? `one of: ${alternatives}` : null);
      return shapes ? `Give ${leaf} as ${shapes}.${desc}`.trim() : `Give ${leaf} in one of the shapes tools/list shows for it.${desc}`.trim();
    }
    case 'not_multiple_of':
      return `Give a multiple of ${String((i as { divisor?: unknown }).divisor)}.`;
    default:
      return `Check ${leaf || 'the arguments'} against the input schema in tools/list.`;
  }
}

/**
 * The path of the first string of the arguments that holds a NUL character, or null: no store keeps one
 * (PostgreSQL refuses it in text), so such an argument names nothing, and is refused the same way on
 * every store instead of failing inside one.
 */
function nulField(v: unknown, path = ''): string | null {
  if (typeof v === 'string') return v.includes('\u0000') ? path : null;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const p = nulField(x, `${path}[${i}]`);
      if (p !== null) return p;
    }
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const p = k.includes('\u0000') ? (path ? `${path}.${k}` : k) : nulField(x, path ? `${path}.${k}` : k);
      if (p !== null) return p;
    }
  }
  return null;
}

function validationError(all: z.core.$ZodIssue[], args: unknown, input?: z.ZodType): CloudportError {
  // An unknown field first: a misspelled name (connectorId) is often why a required one is missing.
  const issues = [...all.filter((i) => i.code === 'unrecognized_keys'), ...all.filter((i) => i.code !== 'unrecognized_keys')];
  const issue = issues[0]!;
  const field = fieldPath(issue.path);
  let message = issue.message;
  // The others, named (up to three), so that one call can put every one right; a field is named once
  // (zod may report several issues of one field, the first one's included).
  const rest = [
    ...new Set(
      issues
        .slice(1)
        .filter((i) => i.code === 'unrecognized_keys' || fieldPath(i.path) !== field)
        .map((i) => (i.code === 'unrecognized_keys' ? `unknown ${(i as { keys: string[] }).keys.map((k) => fieldPath([...i.path, k])).join(', ')}` : `${fieldPath(i.path) || 'arguments'} ${i.path.length > 0 && valueAt(args, i.path) === undefined ? 'required' : 'invalid'}`)),
    ),
  ];
  const more = rest.length ? `Also: ${rest.slice(0, 3).join('; ')}${rest.length > 3 ? `; and ${rest.length - 3} more` : ''}.` : undefined;
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    const where = field ? `${field}.` : '';
    const known = Object.keys((input && (schemaAt(input, issue.path) as unknown as { shape?: Record<string, unknown> } | undefined)?.shape) ?? {});
    const meant = keys.map((k) => closestField(k, known)).filter((k): k is string => k !== null);
    // A time zone has no field: schedules are UTC, and dropping it silently would move every run.
    const zone = known.includes('schedule') && keys.some((k) => /^(time_?zone|tz)$/i.test(k)) ? 'Schedules are in UTC: drop the time zone and give the cron hours in UTC (09:00 in Paris is "0 8 * * *" in winter, "0 7 * * *" in summer).' : null;
    return new CloudportError('config_invalid', `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => where + k).join(', ')}`, {
      field: where + keys[0],
      fix: [zone, meant.length ? `Did you mean ${meant.map((k) => where + k).join(', ')}?` : zone ? null : 'Remove it; tools/list shows the accepted fields.', more].filter(Boolean).join(' '),
    });
  }
  const missing = issue.path.length > 0 && valueAt(args, issue.path) === undefined;
  if (missing) message = 'required';
  else if (issue.code === 'invalid_union') {
    // zod says "Invalid input": say what was given (a short string itself, else its type).
    const v = valueAt(args, issue.path);
    const given = typeof v === 'string' && v.length <= 40 ? JSON.stringify(v) : Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
    message = `${given} is not one of the shapes it takes`;
  }
  // A schema's own check may say how to put it right (params.fix, e.g. metadata's depth limit).
  const own = issue.code === 'custom' ? (issue as { params?: { fix?: unknown } }).params?.fix : undefined;
  const nullForOptional = issue.path.length > 0 && valueAt(args, issue.path) === null && !!input && schemaAt(input, issue.path, true)?.safeParse(undefined).success === true;
  const alternatives = input ? fieldValues(input, issue.path) : undefined;
  const derived = typeof own === 'string' ? own : validationFix(issue, field, input ? schemaAt(input, issue.path) : undefined, missing, nullForOptional, alternatives);
  const fix = [derived, more].filter(Boolean).join(' ') || undefined;
  return new CloudportError('config_invalid', `${field || 'arguments'}: ${message}`, { field: field || undefined, fix });
}

/**
 * The accepted field an unknown one most likely meant: the same in snake_case; a word of it the name
 * shortens or lengthens (connector → connector_id, wait → wait_seconds, key_prefix → prefix,
 * index_name → index) when only one field fits; or within two edits.
 */
function closestField(asked: string, known: string[]): string | null {
  const snake = asked.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/-/g, '_').toLowerCase();
  if (known.includes(snake)) return snake;
  const alias = ALIASES[snake];
  if (alias && known.includes(alias)) return alias;
  for (const fits of [(k: string) => k.startsWith(snake + '_'), (k: string) => snake.startsWith(k + '_') || snake.endsWith('_' + k)]) {
    const found = snake.length >= 3 ? known.filter(fits) : [];
    if (found.length === 1) return found[0]!;
  }
  const best = known.map((k) => ({ k, d: distance(snake, k) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.min(2, Math.floor(snake.length / 3)) ? best.k : null;
}

/** Names agents give fields that no edit distance finds. */
const ALIASES: Record<string, string> = { interval: 'schedule', cron: 'schedule', frequency: 'schedule', every: 'schedule', query_string: 'query', q: 'query', max_results: 'limit', page_size: 'limit' };

/** Edit distance (insertions, deletions, substitutions) between two short names. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * An unknown tool is a tool error, not a protocol error: the model reads the result and can retry with
 * the right name, where a JSON-RPC error often reaches it as a bare failure.
 */
function unknownTool(name: unknown, known: string[]): CloudportError {
  const asked = typeof name === 'string' ? name : String(name);
  const closest = known
    .map((k) => ({ k, d: distance(asked.toLowerCase(), k) }))
    .filter(({ d }) => d <= Math.max(2, Math.floor(asked.length / 3)))
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, 3)
    .map(({ k }) => k);
  // The field is the call's `name` (params.name of tools/call), the one thing to change.
  return new CloudportError('config_invalid', `unknown tool ${JSON.stringify(asked.slice(0, 100))}`, {
    field: 'name',
    fix: closest.length ? `Did you mean ${closest.join(' or ')}? tools/list shows every tool.` : `Call one of: ${known.join(', ')}.`,
  });
}

export interface ServerOptions {
  org: string;
  readOnly: boolean;
  /** Read-only because of the caller's API key (not the server's --read-only): refusals say so. */
  readOnlyKey?: boolean;
  /** The toolsets this server exposes (--toolsets); null or absent: all. */
  toolsets?: readonly Toolset[] | null;
  version: string;
  log: Logger;
  /** Sees every tool call's promise (stdio waits for those in flight when its input ends). */
  track?: (call: Promise<unknown>) => void;
}

/**
 * Each tool's input schema with unknown fields refused, built once per process: zod compiles a schema on
 * its first parse, so a fresh `.strict()` per call cost more than the rest of a small tool call.
 */
const strictInputs = new Map<string, z.ZodObject>();
function strictInput(tool: ToolDef): z.ZodObject {
  let schema = strictInputs.get(tool.name);
  if (!schema) strictInputs.set(tool.name, (schema = tool.input.strict()));
  return schema;
}

/**
 * Builds the MCP server from its parts; it does not know which transport it will get. `app` may still be
 * opening (stdio answers the handshake meanwhile): tool calls wait for it.
 */
export function createServer(app: App | Promise<App>, opts: ServerOptions): Server {
  const server = new Server({ name: SERVER_NAME, version: opts.version }, { capabilities: { tools: { listChanged: false }, resources: { listChanged: false }, completions: {} }, instructions: INSTRUCTIONS });
  const byName = new Map(TOOLS.map((t) => [t.name, t]));
  const toolsets = opts.toolsets ?? null;
  const definitions = toolDefinitions(opts.readOnly, toolsets);

  onRequest(server, ListToolsRequestSchema, async () => ({ tools: definitions }));
  registerResources(server, app, opts.org, toolEnabled('read_item', opts.toolsets ?? null));

  onRequest(server, CallToolRequestSchema, (req, extra) => {
    // Whatever goes wrong inside a call (even outside the tool's own try) is answered as a tool error.
    const call = callTool(req, extra).catch((e: unknown) => {
      // The stack is for whoever debugs the server (--log-level debug), not for the log an operator reads.
      opts.log.error('tool call failed', { tool: String(req.params.name).slice(0, 100), error: e instanceof Error ? e.message : String(e) });
      opts.log.debug('tool call failed: stack', { tool: String(req.params.name).slice(0, 100), stack: (e as Error)?.stack });
      return errorResult(e);
    });
    opts.track?.(call);
    return call;
  });
  const callTool = async (req: CallToolRequest, extra: RequestHandlerExtra<ServerRequest, ServerNotification>): Promise<CallToolResult> => {
    const tool = byName.get(req.params.name);
    if (!tool) return errorResult(unknownTool(req.params.name, definitions.map((d) => d.name)));
    const started = Date.now();
    // A tool outside the enabled toolsets is refused like a read-only refusal: at call time, saying how to enable it.
    if (!toolEnabled(tool.name, toolsets)) {
      const needed = toolsetsOf(tool.name);
      return errorResult(
        new CloudportError('unsupported', `${tool.name} is not available: the server runs with --toolsets ${toolsets!.join(',') || '""'}`, {
          fix: `Add ${needed.join(' or ')} to --toolsets (e.g. --toolsets ${[...toolsets!, needed[0]!].join(',')}), or drop --toolsets for every tool.`,
        }),
      );
    }
    if (opts.readOnly && !tool.annotations.readOnlyHint) {
      return errorResult(
        opts.readOnlyKey
          ? new CloudportError('permission_denied', `${tool.name} is not available: this API key is read-only`, {
              fix: 'Use a read-write key (cloudport keys create --org NAME, without --read-only) to change anything.',
            })
          : new CloudportError('permission_denied', `${tool.name} is not available: the server runs with --read-only`, {
              fix: 'Restart cloudport without --read-only to change anything.',
            }),
      );
    }
    const parsed = strictInput(tool).safeParse(req.params.arguments ?? {});
    if (!parsed.success) return errorResult(validationError(parsed.error.issues, req.params.arguments, tool.input));
    const nul = nulField(parsed.data);
    if (nul !== null) {
      return errorResult(new CloudportError('config_invalid', `${nul || 'the arguments'} holds a NUL character (U+0000), which no key, name or value holds`, { field: nul || undefined, fix: 'Remove the NUL character (\\u0000).' }));
    }
    try {
      const token = req.params._meta?.progressToken;
      const progress =
        token !== undefined
          ? (p: number, total: number | undefined, message: string) =>
              void extra
                .sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: p, ...(total !== undefined ? { total } : {}), message } })
                .catch(() => undefined)
          : undefined;
      const { data, summary, text } = await tool.handler(parsed.data, { app: await app, org: opts.org, readOnly: opts.readOnly, toolsets, signal: extra.signal, progress });
      opts.log.debug('tool call', { tool: tool.name, ms: Date.now() - started });
      return { content: [{ type: 'text', text: text ?? `${escapeText(summary)}\n${jsonText(data)}` }], structuredContent: data as Record<string, unknown> };
    } catch (e) {
      let err = asCloudportError(e);
      if (isStoreFull(e)) {
        // The driver's own words can name the database server's files: they go to the log, not to the caller.
        opts.log.warn('tool refused: the store is full', { tool: tool.name, error: err.message });
        err = new CloudportError('unexpected', 'the store is full: it has no space left for this write', {
          temporary: true,
          fix: "Free space where the store keeps its data (the data dir's disk, or the PostgreSQL server) and retry; jobs already running wait and go on by themselves.",
        });
      }
      if (err.kind === 'unexpected' && !err.temporary) {
        opts.log.error('tool failed', { tool: tool.name, error: err.message });
        opts.log.debug('tool failed: stack', { tool: tool.name, stack: (e as Error).stack });
      }
      return errorResult(err, opts.org);
    }
  };
  return server;
}
