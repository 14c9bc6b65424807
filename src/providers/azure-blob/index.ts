import { z } from 'zod';
import { invalid } from '../../shared/errors.js';
import { commonLocationFields, secretValue } from '../fields.js';
import type { LocationConfig, ProviderDefinition } from '../types.js';

const accountKey = z.object({ type: z.literal('account_key'), account_key: secretValue }).strict();
const connectionString = z.object({ type: z.literal('connection_string'), connection_string: secretValue }).strict();
const sas = z.object({ type: z.literal('sas'), sas_token: secretValue.optional(), sas_url: secretValue.optional() }).strict();
const defaultCredential = z.object({ type: z.literal('default') }).strict();

/** https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata */
const CONTAINER = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const ACCOUNT = /^[a-z0-9]{3,24}$/;

/** BlobEndpoint from a connection string, or the account URL of a SAS URL: never the key or signature. */
function embeddedEndpoint(creds: Record<string, unknown>): string | null {
  if (creds.type === 'connection_string' && typeof creds.connection_string === 'string') {
    const parts = Object.fromEntries(creds.connection_string.split(';').filter(Boolean).map((p) => [p.slice(0, p.indexOf('=')).toLowerCase(), p.slice(p.indexOf('=') + 1)]));
    if (parts.blobendpoint) return parts.blobendpoint.replace(/\/$/, '');
    if (parts.accountname) return `${parts.defaultendpointsprotocol ?? 'https'}://${parts.accountname}.blob.${parts.endpointsuffix ?? 'core.windows.net'}`;
    return null;
  }
  if (creds.type === 'sas' && typeof creds.sas_url === 'string') {
    try {
      const u = new URL(creds.sas_url);
      return `${u.protocol}//${u.host}`;
    } catch {
      return null;
    }
  }
  return null;
}

export const azureBlobProvider: ProviderDefinition = {
  name: 'azure_blob',
  locationFields: {
    container: z.string().min(3).max(63).optional().describe('azure_blob: container (instead of bucket).'),
    account_name: z.string().min(3).max(24).optional().describe('azure_blob: storage account (or give endpoint).'),
    endpoint: commonLocationFields.endpoint,
  },
  credentialSchemas: [accountKey, connectionString, sas, defaultCredential],
  credentialTypes: ['account_key', 'connection_string', 'sas', 'default'],
  validateLocation(input): LocationConfig {
    const container = typeof input.container === 'string' ? input.container : typeof input.bucket === 'string' ? input.bucket : '';
    if (!container) throw invalid('container', 'container is required for provider azure_blob', 'Give the container name, e.g. "media".');
    if (!CONTAINER.test(container)) throw invalid('container', `container ${JSON.stringify(container)} is not a valid container name`, '3-63 characters: lowercase letters, digits and single hyphens.');
    const account = typeof input.account_name === 'string' ? input.account_name : undefined;
    if (account !== undefined && !ACCOUNT.test(account)) throw invalid('account_name', `account_name ${JSON.stringify(account)} is not a valid storage account name`, '3-24 lowercase letters and digits.');
    return {
      bucket: container,
      region: null,
      endpoint: typeof input.endpoint === 'string' ? input.endpoint : null,
      container,
      ...(account ? { account_name: account } : {}),
    };
  },
  usesAmbientIdentity: (creds) => creds.type === 'default',
  credentialEndpoints(creds): Record<string, string> {
    const e = embeddedEndpoint(creds);
    return e ? { blob_endpoint: e } : {};
  },
  validateCredentials(creds) {
    if (creds.type === 'sas' && (creds.sas_token === undefined) === (creds.sas_url === undefined)) {
      throw invalid('credentials.sas_token', 'sas credentials need exactly one of sas_token and sas_url');
    }
  },
  credentialHint(creds) {
    if (creds.type === 'default') return 'DefaultAzureCredential';
    const sasText = typeof creds.sas_token === 'string' ? creds.sas_token : typeof creds.sas_url === 'string' ? (creds.sas_url.split('?')[1] ?? '') : null;
    if (sasText !== null) {
      const q = new URLSearchParams(sasText.replace(/^\?/, ''));
      return `SAS sp=${q.get('sp') ?? '?'}${q.get('se') ? ` until ${q.get('se')}` : ''}`;
    }
    if (creds.type === 'connection_string' && typeof creds.connection_string === 'string') {
      const m = /AccountName=([^;]+)/i.exec(creds.connection_string);
      return m ? `account ${m[1]}` : undefined;
    }
    return undefined;
  },
  open: async (loc, creds, ctx) => new (await import('./provider.js')).AzureBlobProvider(loc, creds, ctx),
};
