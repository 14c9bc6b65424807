import { z } from 'zod';
import type { ProviderDefinition, LocationConfig } from '../types.js';
import { invalid } from '../../shared/errors.js';
import { commonLocationFields, secretValue } from '../fields.js';

/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (relaxed for S3-compatible servers). */
export const BUCKET = /^[a-zA-Z0-9][a-zA-Z0-9._-]{1,253}[a-zA-Z0-9]$/;
const REGION = /^[a-z0-9-]{2,40}$/;

const keyFields = { access_key_id: secretValue, secret_access_key: secretValue, session_token: secretValue.optional() };
const accessKey = z.object({ type: z.literal('access_key'), ...keyFields }).strict();
const defaultChain = z
  .object({ type: z.literal('default'), profile: z.string().min(1).max(128).optional().describe('AWS profile.') })
  .strict()
  .describe("The host's own identity (env, profile, instance/workload role).");
const assumeRole = z
  .object({
    type: z.literal('assume_role'),
    role_arn: z.string().min(20).max(2048),
    external_id: secretValue.optional(),
    session_name: z.string().min(2).max(64).optional(),
    duration_seconds: z.number().int().min(900).max(43200).optional(),
    base: z.object(keyFields).strict().optional().describe('Access keys that assume the role (default: the default chain).'),
  })
  .strict();

const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/;

export const s3Provider: ProviderDefinition = {
  name: 's3',
  locationFields: {
    ...commonLocationFields,
    sts_endpoint: z.string().max(2048).optional().describe('s3 assume_role: STS URL.'),
  },
  credentialSchemas: [accessKey, assumeRole, defaultChain],
  credentialTypes: ['access_key', 'assume_role', 'default'],
  validateLocation(input): LocationConfig {
    const loc = {
      bucket: typeof input.bucket === 'string' ? input.bucket : '',
      region: typeof input.region === 'string' && input.region ? input.region : null,
      endpoint: typeof input.endpoint === 'string' ? input.endpoint : null,
    };
    if (!loc.bucket) throw invalid('bucket', 'bucket is required for provider s3', 'Give the bucket name, e.g. "my-bucket" (no s3:// prefix).');
    if (loc.bucket.startsWith('s3://')) throw invalid('bucket', 'bucket must be a bare name, not a URL', `Use "${loc.bucket.slice(5).split('/')[0]}" and put any path in prefix.`);
    if (!BUCKET.test(loc.bucket)) throw invalid('bucket', `bucket ${JSON.stringify(loc.bucket)} is not a valid bucket name`, '3-255 characters: letters, digits, ".", "-", "_".');
    if (loc.region !== null && !REGION.test(loc.region)) throw invalid('region', `region ${JSON.stringify(loc.region)} is not a valid region name`, 'Use a region code such as "us-east-1" or "eu-west-3".');
    const sts = typeof input.sts_endpoint === 'string' && input.sts_endpoint ? input.sts_endpoint : null;
    if (sts !== null && !/^https?:\/\/[^/@?#\s]+(\/[^?#\s]*)?$/.test(sts)) throw invalid('sts_endpoint', 'sts_endpoint must be an http(s) URL without credentials or query', 'E.g. "https://sts.eu-west-1.amazonaws.com".');
    // region stays null when not given: create_connector detects it from the bucket.
    return { ...loc, ...(sts ? { sts_endpoint: sts } : {}) };
  },
  usesAmbientIdentity: (creds) => creds.type === 'default' || (creds.type === 'assume_role' && !creds.base),
  checkLocationWith(loc, creds) {
    // STS serves role assumption: assume_role, and the default chain (a profile's role_arn, web identity).
    if (loc.sts_endpoint && creds.type === 'access_key') {
      throw invalid('sts_endpoint', 'sts_endpoint is used only by assume_role and default credentials, not access_key', 'Leave sts_endpoint out (update_connector: give sts_endpoint "" to drop it), or use credentials {type: "assume_role", ...}.');
    }
  },
  validateCredentials(creds) {
    // Keys go into request headers: a pasted line break or space would fail every request as "unexpected".
    for (const [path, value] of [
      ['access_key_id', creds.access_key_id],
      ['secret_access_key', creds.secret_access_key],
      ['session_token', creds.session_token],
      ['external_id', creds.external_id],
      ...Object.entries((creds.base as Record<string, unknown> | undefined) ?? {}).map(([k, v]) => [`base.${k}`, v] as const),
    ] as const) {
      if (typeof value === 'string' && /[^\x21-\x7e]/.test(value)) {
        throw invalid(`credentials.${path}`, `credentials.${path} holds a character that cannot be sent in a request header (a line break, a space or a non-ASCII character)`, `Give the ${path.replace('base.', '')} again exactly as AWS issued it, on one line with no spaces.`);
      }
    }
    if (creds.type === 'assume_role' && typeof creds.role_arn === 'string' && !ROLE_ARN.test(creds.role_arn)) {
      throw invalid('credentials.role_arn', `role_arn ${JSON.stringify(creds.role_arn)} is not an IAM role ARN`, 'Use arn:aws:iam::<12-digit account>:role/<name>.');
    }
  },
  credentialHint(creds) {
    if (creds.type === 'assume_role' && typeof creds.role_arn === 'string') return creds.role_arn.split(':').pop();
    if (creds.type === 'default') return typeof creds.profile === 'string' ? `profile ${creds.profile}` : 'default chain';
    const id = creds.access_key_id;
    return typeof id === 'string' && id.length >= 8 ? `…${id.slice(-4)}` : undefined;
  },
  open: async (loc, creds, ctx) => new (await import('./provider.js')).S3Provider(loc, creds, ctx),
  preload: () => import('./provider.js'),
};
