import { z } from 'zod';
import { CloudportError, invalid } from '../../shared/errors.js';
import { secretKeyFile, secretValue } from '../fields.js';
import { GOOGLE_TOKEN_URI, parseServiceAccount, serviceAccountEndpoints } from '../google-service-account.js';
import { carriesSecrets } from '../../shared/secure-url.js';
import type { LocationConfig, ProviderDefinition } from '../types.js';
import { canonicalKey } from './keys.js';

const serviceAccount = z
  .object({ type: z.literal('service_account'), json: secretKeyFile, subject: z.string().min(3).max(320).optional() })
  .strict();
const oauth = z.object({ type: z.literal('oauth'), client_id: z.string().min(1).max(300), client_secret: secretValue, refresh_token: secretValue, token_uri: z.string().max(2048).optional() }).strict();
const adc = z.object({ type: z.literal('default') }).strict();

/** Drive file, folder and shared-drive ids: letters, digits, "-" and "_". */
const DRIVE_ID = /^[A-Za-z0-9_-]{5,200}$/;

/** An id given where a URL or a name was pasted: the id inside a Drive URL, when there is one. */
function idField(input: Record<string, unknown>, field: 'root_folder_id' | 'drive_id'): string | undefined {
  const v = input[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw invalid(field, `${field} must be a string`, 'Give the id from the Drive URL.');
  if (DRIVE_ID.test(v)) return v;
  const inUrl = /\/(?:folders|drives)\/([A-Za-z0-9_-]{5,200})/.exec(v)?.[1];
  throw invalid(field, `${field} ${JSON.stringify(v.slice(0, 80))} is not a Drive id`, inUrl ? `Use the id from that URL: "${inUrl}".` : 'Give the id: the last part of the folder\'s URL, drive.google.com/drive/folders/<id>.');
}

export const googleDriveProvider: ProviderDefinition = {
  name: 'google_drive',
  locationFields: {
    drive_id: z.string().max(200).optional().describe('google_drive: shared drive.'),
    root_folder_id: z.string().max(200).optional().describe('google_drive: folder; default root.'),
  },
  credentialSchemas: [serviceAccount, oauth, adc],
  credentialTypes: ['service_account', 'oauth', 'default'],
  samePath: canonicalKey,
  validateLocation(input): LocationConfig {
    if (typeof input.bucket === 'string' && input.bucket) {
      throw invalid('bucket', 'google_drive has no buckets', 'Give root_folder_id (a folder id) and, for a shared drive, drive_id; leave bucket out.');
    }
    const driveId = idField(input, 'drive_id');
    const rootId = idField(input, 'root_folder_id');
    return {
      // `bucket` names what the connector reaches, for lists and messages.
      bucket: rootId ?? driveId ?? 'root',
      region: null,
      endpoint: typeof input.endpoint === 'string' ? input.endpoint : null,
      ...(driveId ? { drive_id: driveId } : {}),
      ...(rootId ? { root_folder_id: rootId } : {}),
    };
  },
  usesAmbientIdentity: (creds) => creds.type === 'default',
  credentialEndpointKeys: ['token_uri'],
  // The token endpoint of a key file, or the one an oauth client's refresh token is for (one issued by
  // `cloudport auth google-drive --token-uri`): its client secret and refresh token travel there.
  credentialEndpoints: (creds) =>
    creds.type === 'oauth' ? (typeof creds.token_uri === 'string' && creds.token_uri !== GOOGLE_TOKEN_URI ? { token_uri: creds.token_uri } : {}) : serviceAccountEndpoints(creds),
  validateCredentials(creds) {
    if (creds.type === 'oauth' && typeof creds.token_uri === 'string' && !carriesSecrets(creds.token_uri)) {
      throw invalid('credentials.token_uri', 'token_uri must be an https URL (or http on 127.0.0.1): the client secret and refresh token are sent to it', `Leave it out for Google's (${GOOGLE_TOKEN_URI}), or give the https URL the refresh token was issued by.`);
    }
    if (creds.type === 'service_account' && typeof creds.subject === 'string' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(creds.subject)) {
      throw invalid('credentials.subject', 'subject must be the email address of the user to act as', 'Give the Workspace user\'s address, e.g. "reports@example.com", or leave subject out.');
    }
    if (creds.type === 'service_account' && typeof creds.json === 'string') {
      const sa = parseServiceAccount(creds.json);
      if (sa.token_uri !== undefined) {
        try {
          new URL(sa.token_uri);
        } catch {
          throw new CloudportError('config_invalid', 'the token_uri of the service account key is not a URL', { field: 'credentials.json' });
        }
      }
    }
  },
  credentialHint(creds) {
    if (creds.type === 'default') return 'application default credentials';
    if (creds.type === 'oauth') return typeof creds.client_id === 'string' ? `oauth client …${creds.client_id.split('.')[0]!.slice(-6)}` : undefined;
    if (typeof creds.json !== 'string') return undefined;
    try {
      const email = parseServiceAccount(creds.json).client_email;
      return typeof creds.subject === 'string' ? `${email} as ${creds.subject}` : email;
    } catch {
      return undefined;
    }
  },
  consent: async (o) => (await import('./consent.js')).consent(o),
  open: async (loc, creds, ctx) => new (await import('./provider.js')).DriveProvider(loc, creds, ctx),
  preload: () => import('./provider.js'),
};
