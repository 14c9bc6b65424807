import { z } from 'zod';
import { invalid } from '../../shared/errors.js';
import { commonLocationFields, secretValue, refuseRegion } from '../fields.js';
import type { LocationConfig, ProviderDefinition } from '../types.js';
import { accountFromEndpoint, cleanEndpoint, parseConnectionString, sasInfo, sasTextOf, splitSasUrl } from './locate.js';

const accountKey = z.object({ type: z.literal('account_key'), account_key: secretValue }).strict();
const connectionString = z.object({ type: z.literal('connection_string'), connection_string: secretValue }).strict();
const sas = z.object({ type: z.literal('sas'), sas_token: secretValue.optional(), sas_url: secretValue.optional() }).strict();
const defaultCredential = z.object({ type: z.literal('default') }).strict();

/**
 * https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata
 * 3-63 characters: lowercase letters, digits and single hyphens, starting and ending with a letter or
 * digit; plus the special containers $root, $web and $logs.
 */
export const CONTAINER = /^(?:(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]|\$root|\$web|\$logs)$/;
const ACCOUNT = /^[a-z0-9]{3,24}$/;

/**
 * The account endpoint hidden in credentials: a connection string's BlobEndpoint (or the one its
 * AccountName and EndpointSuffix make), a SAS URL's account URL. Never the key, the SAS or a query.
 */
function embeddedEndpoint(creds: Record<string, unknown>): string | null {
  if (creds.type === 'connection_string' && typeof creds.connection_string === 'string') {
    const cs = parseConnectionString(creds.connection_string);
    return cs.blobEndpoint ? cleanEndpoint(cs.blobEndpoint, 'credentials.connection_string') : null;
  }
  if (creds.type === 'sas' && typeof creds.sas_url === 'string') return splitSasUrl(creds.sas_url).accountUrl;
  return null;
}

export const azureBlobProvider: ProviderDefinition = {
  name: 'azure_blob',
  locationFields: {
    container: z.string().min(3).max(63).optional().describe('azure_blob (not bucket).'),
    account_name: z.string().min(3).max(24).optional().describe('azure_blob: or give endpoint.'),
    endpoint: commonLocationFields.endpoint,
  },
  credentialSchemas: [accountKey, connectionString, sas, defaultCredential],
  credentialTypes: ['account_key', 'connection_string', 'sas', 'default'],
  validateLocation(input): LocationConfig {
    refuseRegion(input, 'azure_blob');
    const container = typeof input.container === 'string' ? input.container : typeof input.bucket === 'string' ? input.bucket : '';
    if (!container) throw invalid('container', 'container is required for provider azure_blob', 'Give the container name in `container`, e.g. "media" (azure_blob does not use `bucket`).');
    if (!CONTAINER.test(container)) throw invalid('container', `container ${JSON.stringify(container)} is not a valid container name`, '3-63 characters: lowercase letters, digits and single hyphens, starting and ending with a letter or digit.');
    const account = typeof input.account_name === 'string' && input.account_name ? input.account_name : undefined;
    if (account !== undefined && !ACCOUNT.test(account)) throw invalid('account_name', `account_name ${JSON.stringify(account)} is not a valid storage account name`, '3-24 lowercase letters and digits.');
    const endpoint = typeof input.endpoint === 'string' && input.endpoint ? input.endpoint.replace(/\/+$/, '') : null;
    if (endpoint && account) {
      const named = accountFromEndpoint(endpoint);
      if (named && named !== account) throw invalid('account_name', `account_name ${JSON.stringify(account)} does not match the endpoint's account ${JSON.stringify(named)}`, 'Give one of them, or make them agree.');
    }
    // The account may also come from a connection string or SAS URL: open() names account_name when nothing locates it.
    return { bucket: container, region: null, endpoint, container, ...(account ? { account_name: account } : {}) };
  },
  usesAmbientIdentity: (creds) => creds.type === 'default',
  credentialEndpointKeys: ['blob_endpoint'],
  checkLocationWith(loc) {
    // Both given and different: one would be used and the other silently ignored.
    const norm = (u: unknown) => (typeof u === 'string' ? u.replace(/\/+$/, '').toLowerCase() : null);
    if (loc.endpoint && loc.blob_endpoint && norm(loc.endpoint) !== norm(loc.blob_endpoint)) {
      throw invalid('endpoint', `endpoint ${String(loc.endpoint)} differs from the credentials' blob endpoint ${String(loc.blob_endpoint)}`, 'Leave endpoint out (the credentials carry it), or make the two agree.');
    }
  },
  credentialEndpoints(creds): Record<string, string> {
    const e = embeddedEndpoint(creds);
    return e ? { blob_endpoint: e } : {};
  },
  validateCredentials(creds) {
    if (creds.type === 'sas') {
      if ((creds.sas_token === undefined) === (creds.sas_url === undefined)) {
        throw invalid(creds.sas_url === undefined ? 'credentials.sas_token' : 'credentials.sas_url', 'sas credentials need exactly one of sas_token and sas_url', 'Give the SAS token (sv=...&sig=...) or the whole SAS URL, not both.');
      }
      if (typeof creds.sas_url === 'string') splitSasUrl(creds.sas_url);
      if (typeof creds.sas_token === 'string') {
        if (/^https?:/i.test(creds.sas_token)) throw invalid('credentials.sas_token', 'sas_token holds a URL', 'Give a URL as sas_url, or only its query string as sas_token.');
        if (!/(^|[?&])sig=/.test(creds.sas_token)) throw invalid('credentials.sas_token', 'sas_token carries no signature (sig)', 'Copy the whole SAS token, e.g. "sv=...&sp=rl&se=...&sig=...".');
      }
    }
    if (creds.type === 'connection_string' && typeof creds.connection_string === 'string') {
      const cs = parseConnectionString(creds.connection_string);
      if (!cs.accountKey && !cs.sas) throw invalid('credentials.connection_string', 'the connection string has neither AccountKey nor SharedAccessSignature', 'Copy the whole connection string from the storage account\'s "Access keys" page.');
      if (!cs.blobEndpoint) throw invalid('credentials.connection_string', 'the connection string names no blob endpoint (BlobEndpoint or AccountName)', 'Copy the whole connection string from the portal (Access keys): it holds AccountName=…;AccountKey=…;EndpointSuffix=…');
      cleanEndpoint(cs.blobEndpoint, 'credentials.connection_string');
      if (cs.accountKey && !cs.sas && !cs.accountName && !accountFromEndpoint(cs.blobEndpoint)) throw invalid('credentials.connection_string', 'the connection string has an AccountKey but no AccountName');
    }
  },
  credentialHint(creds) {
    if (creds.type === 'default') return 'DefaultAzureCredential';
    const sasText = sasTextOf(creds);
    if (creds.type === 'connection_string' && typeof creds.connection_string === 'string') {
      const name = parseConnectionString(creds.connection_string).accountName;
      const parts = [name ? `account ${name}` : undefined, sasText !== undefined ? sasHint(sasText) : undefined].filter(Boolean);
      return parts.length ? parts.join(', ') : undefined;
    }
    if (sasText !== undefined) return sasHint(sasText);
    return undefined;
  },
  open: async (loc, creds, ctx) => new (await import('./provider.js')).AzureBlobProvider(loc, creds, ctx),
  preload: () => import('./provider.js'),
};

/** "SAS sp=rl until 2026-01-01T00:00:00Z": the rights and expiry, never the signature. */
function sasHint(text: string): string {
  const { sp, se } = sasInfo(text);
  return `SAS sp=${sp ?? '?'}${se ? ` until ${se}` : ''}`;
}
