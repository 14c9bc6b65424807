import { z } from 'zod';
import type { ProviderDefinition, LocationConfig } from '../types.js';
import { invalid } from '../../shared/errors.js';
import { commonLocationFields, secretValue } from '../fields.js';
import { S3Provider } from './provider.js';

/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (relaxed for S3-compatible servers). */
const BUCKET = /^[a-zA-Z0-9][a-zA-Z0-9._-]{1,253}[a-zA-Z0-9]$/;
const REGION = /^[a-z0-9-]{2,40}$/;

const accessKey = z
  .object({ type: z.literal('access_key'), access_key_id: secretValue, secret_access_key: secretValue, session_token: secretValue.optional() })
  .strict();

export const s3Provider: ProviderDefinition = {
  name: 's3',
  locationFields: commonLocationFields,
  credentialSchemas: [accessKey],
  credentialTypes: ['access_key'],
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
    return { ...loc, region: loc.region ?? 'us-east-1' };
  },
  credentialHint(creds) {
    const id = creds.access_key_id;
    return typeof id === 'string' && id.length >= 8 ? `…${id.slice(-4)}` : undefined;
  },
  open: (loc, creds, ctx) => new S3Provider(loc, creds, ctx),
};
