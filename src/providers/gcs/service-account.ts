import { CloudportError } from '../../shared/errors.js';

/** A service account key file's fields (no SDK import: used when validating, before any client is loaded). */
export function parseServiceAccount(json: string): { client_email: string; private_key: string; project_id?: string; token_uri?: string } {
  let sa: Record<string, unknown>;
  try {
    sa = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw new CloudportError('config_invalid', 'credentials.json is not JSON', { field: 'credentials.json', fix: 'Give the service account key file (JSON) as downloaded, or {file: "/path/key.json"}.' });
  }
  if (sa.type !== 'service_account' || typeof sa.client_email !== 'string' || typeof sa.private_key !== 'string') {
    throw new CloudportError('config_invalid', 'credentials.json is not a service account key (needs type "service_account", client_email, private_key)', { field: 'credentials.json' });
  }
  return sa as { client_email: string; private_key: string; project_id?: string; token_uri?: string };
}

