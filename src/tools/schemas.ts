import { z } from 'zod';
import { CONNECTOR_STATUSES, IMPORT_MODES, SCOPES } from '../core/connectors.js';
import { PROVIDER_NAMES } from '../providers/index.js';
import { FILE_STATES, JOB_STATES } from '../store/types.js';

/** Shared zod pieces for tool inputs and outputs. Descriptions are short: agents pay for every token. */

export const secretValue = z.union([
  z.string().min(1),
  z.object({ env: z.string().min(1) }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
]).meta({ id: 'secret' });

export const credentialsInput = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('access_key'),
        access_key_id: secretValue,
        secret_access_key: secretValue,
        session_token: secretValue.optional(),
      })
      .strict(),
  ])
  .describe('Each secret may be a literal or {env:"VAR"} / {file:"/path"} resolved by the server, so it never passes through chat.');

export const connectorId = z.string().min(1).max(100).describe('Connector id (conn_…).');
export const limit = z.number().int().min(1).max(1000).default(100);
export const cursor = z.string().max(4096).optional().describe('next_cursor from the previous page.');

export const connectorFields = {
  name: z.string().min(1).max(100).describe('Unique name.'),
  provider: z.enum(PROVIDER_NAMES),
  bucket: z.string().min(1).max(255),
  region: z.string().max(40).optional().describe('Default us-east-1.'),
  endpoint: z.string().max(2048).optional().describe('S3-compatible server URL; path-style addressing.'),
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
