import { z } from 'zod';
import { invalid } from '../../shared/errors.js';
import { commonLocationFields, refuseRegion, secretKeyFile } from '../fields.js';
import type { LocationConfig, ProviderDefinition } from '../types.js';
import { parseServiceAccount, serviceAccountEndpoints } from '../google-service-account.js';

const serviceAccount = z
  .object({ type: z.literal('service_account'), json: secretKeyFile })
  .strict();
const adc = z.object({ type: z.literal('default') }).strict();

/** https://cloud.google.com/storage/docs/buckets#naming */
export const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/** Why a name breaks Google's bucket naming rules (no such bucket can exist), or null. */
function bucketProblem(bucket: string): string | null {
  if (!BUCKET.test(bucket)) return 'it must be 3-222 characters of lowercase letters, digits, ".", "-" and "_", starting and ending with a letter or digit';
  if (!bucket.includes('.') && bucket.length > 63) return 'a name without dots is at most 63 characters';
  if (bucket.split('.').some((part) => part.length > 63)) return 'each part between dots is at most 63 characters';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(bucket)) return 'it is written as an IP address';
  if (bucket.startsWith('goog')) return 'it starts with "goog"';
  if (bucket.includes('google')) return 'it holds "google"';
  return null;
}

export const gcsProvider: ProviderDefinition = {
  name: 'gcs',
  locationFields: { ...commonLocationFields, project_id: z.string().min(1).max(100).optional().describe('gcs.') },
  credentialSchemas: [serviceAccount, adc],
  credentialTypes: ['service_account', 'default'],
  validateLocation(input): LocationConfig {
    refuseRegion(input, 'gcs');
    const bucket = typeof input.bucket === 'string' ? input.bucket : '';
    if (!bucket) throw invalid('bucket', 'bucket is required for provider gcs', 'Give the bucket name without gs://.');
    if (bucket.startsWith('gs://')) throw invalid('bucket', 'bucket must be a bare name, not a URL', `Use "${bucket.slice(5).split('/')[0]}" and put any path in prefix.`);
    const problem = bucketProblem(bucket);
    if (problem) throw invalid('bucket', `bucket ${JSON.stringify(bucket)} is not a valid GCS bucket name: ${problem}`, 'Lowercase letters, digits, ".", "-", "_"; 3-63 characters (up to 222 with dots, 63 between them); not an IP address; not starting with "goog" nor holding "google".');
    return {
      bucket,
      region: null,
      endpoint: typeof input.endpoint === 'string' ? input.endpoint : null,
      ...(typeof input.project_id === 'string' ? { project_id: input.project_id } : {}),
    };
  },
  usesAmbientIdentity: (creds) => creds.type === 'default',
  credentialEndpointKeys: ['token_uri'],
  credentialEndpoints: serviceAccountEndpoints,
  validateCredentials(creds) {
    if (creds.type === 'service_account' && typeof creds.json === 'string') parseServiceAccount(creds.json);
  },
  credentialHint(creds) {
    if (creds.type === 'default') return 'application default credentials';
    if (typeof creds.json !== 'string') return undefined;
    try {
      return parseServiceAccount(creds.json).client_email;
    } catch {
      return undefined;
    }
  },
  open: async (loc, creds, ctx) => new (await import('./provider.js')).GcsProvider(loc, creds, ctx),
  preload: () => import('./provider.js'),
};
