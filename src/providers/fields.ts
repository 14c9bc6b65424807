import { CloudportError } from '../shared/errors.js';
import { z } from 'zod';

/**
 * Schema pieces providers use to declare their connector fields and credential types. The tool
 * schemas are assembled from every registered provider, so adding a provider touches only providers/.
 */
export const SECRET_MAX_CHARS = 4096;
/** A JSON key file (GCS service account) is larger than any key or token. */
export const KEY_FILE_MAX_CHARS = 65536;

const secretOf = (max: number) =>
  z.union([
    z.string().min(1).max(max),
    z.object({ env: z.string().min(1).max(256) }).strict(),
    z.object({ file: z.string().min(1).max(4096) }).strict(),
  ]);

/** A secret: the value itself, or a reference ({env} / {file}) resolved where cloudport runs. */
export const secretValue = secretOf(SECRET_MAX_CHARS).meta({ id: 'secret', description: 'The value, or {env} / {file} read by the server.' });
/** A secret that is a whole key file (JSON); tools/schemas.ts advertises it as a longer string or a `secret`. */
export const secretKeyFile = secretOf(KEY_FILE_MAX_CHARS);

/** The most characters a secret field may hold once resolved, by its path in the credentials ('base.secret_access_key'). */
export function secretFields(schemas: readonly z.ZodType[]): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (schema: z.ZodType, prefix: string) => {
    const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
    if (!shape) return;
    for (const [k, field] of Object.entries(shape)) {
      let f: z.ZodType = field;
      while (f instanceof z.ZodOptional || f instanceof z.ZodNullable) f = f.unwrap() as z.ZodType;
      if (f === secretValue) out.set(prefix + k, SECRET_MAX_CHARS);
      else if (f === secretKeyFile) out.set(prefix + k, KEY_FILE_MAX_CHARS);
      else walk(f, `${prefix}${k}.`);
    }
  };
  for (const s of schemas) walk(s, '');
  return out;
}

/** Location fields shared by the object stores; a provider may add its own (e.g. container, project_id). */
/** Refuses a region given to a provider whose storage has none to set (it would be dropped, not kept). */
export function refuseRegion(input: Record<string, unknown>, provider: string): void {
  if (typeof input.region === 'string' && input.region !== '') {
    throw new CloudportError('config_invalid', `${provider} connectors take no region (the ${provider === 'gcs' ? "bucket's location is its own" : "account's location is its own"})`, { field: 'region', fix: 'Leave region out.' });
  }
}

export const commonLocationFields = {
  bucket: z.string().min(1).max(255).describe('Bucket name (s3, gcs).'),
  region: z.string().max(40).optional().describe('s3: detected if omitted.'),
  endpoint: z.string().max(2048).optional().describe('Custom API URL (S3-compatible, emulator).'),
};
