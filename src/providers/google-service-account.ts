import { CloudportError } from '../shared/errors.js';

/**
 * Google service account key files, shared by the providers that take them (gcs, google_drive).
 */
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

/** A service account key file's fields (no SDK import: used when validating, before any client is loaded). */
export function parseServiceAccount(json: string): { client_email: string; private_key: string; project_id?: string; token_uri?: string } {
  let sa: Record<string, unknown>;
  try {
    sa = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw new CloudportError('config_invalid', 'credentials.json is not JSON', { field: 'credentials.json', fix: 'Give the service account key file (JSON) as downloaded, or {file: "/path/key.json"}.' });
  }
  if (sa.type !== 'service_account' || typeof sa.client_email !== 'string' || typeof sa.private_key !== 'string') {
    throw new CloudportError('config_invalid', 'credentials.json is not a service account key (needs type "service_account", client_email, private_key)', {
      field: 'credentials.json',
      fix: 'Give the whole JSON key file of a service account (IAM > Service accounts > Keys > Add key > JSON), e.g. as {"file": "/path/key.json"}.',
    });
  }
  return sa as { client_email: string; private_key: string; project_id?: string; token_uri?: string };
}

/** The key's own token endpoint, as a location key the endpoint policy checks (none when it is Google's). */
export function serviceAccountEndpoints(creds: Record<string, unknown>): Record<string, string> {
  if (creds.type !== 'service_account' || typeof creds.json !== 'string') return {};
  const uri = parseServiceAccount(creds.json).token_uri;
  return uri && uri !== GOOGLE_TOKEN_URI ? { token_uri: uri } : {};
}
