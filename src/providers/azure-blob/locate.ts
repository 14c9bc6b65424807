import { invalid } from '../../shared/errors.js';

/**
 * Where an Azure storage account is, from the location fields and from what credentials carry
 * (a connection string's BlobEndpoint / AccountName, a SAS URL). No SDK here: the definition
 * (index.ts) uses it at validation time without loading @azure/storage-blob.
 */

/** The emulator's well-known development account (UseDevelopmentStorage=true). */
export const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface ConnectionString {
  accountName?: string;
  accountKey?: string;
  /** The account's blob endpoint (explicit BlobEndpoint, or built from protocol, account and suffix). */
  blobEndpoint?: string;
  /** SharedAccessSignature, without a leading "?". */
  sas?: string;
}

/** Parses `Key=Value;...` (keys case-insensitive; values may hold "=", as base64 keys do). */
export function parseConnectionString(cs: string): ConnectionString {
  const parts: Record<string, string> = {};
  for (const p of cs.split(';')) {
    const i = p.indexOf('=');
    if (i > 0) parts[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim();
  }
  if (parts.usedevelopmentstorage?.toLowerCase() === 'true') {
    const proxy = parts.developmentstorageproxyuri?.replace(/\/$/, '');
    return { accountName: DEV_ACCOUNT, accountKey: DEV_KEY, blobEndpoint: `${proxy ?? 'http://127.0.0.1'}:10000/${DEV_ACCOUNT}` };
  }
  const out: ConnectionString = {};
  if (parts.accountname) out.accountName = parts.accountname;
  if (parts.accountkey) out.accountKey = parts.accountkey;
  if (parts.sharedaccesssignature) out.sas = parts.sharedaccesssignature.replace(/^\?/, '');
  if (parts.blobendpoint) out.blobEndpoint = parts.blobendpoint.replace(/\/+$/, '');
  else if (parts.accountname) out.blobEndpoint = `${parts.defaultendpointsprotocol ?? 'https'}://${parts.accountname}.blob.${parts.endpointsuffix ?? 'core.windows.net'}`;
  return out;
}

/** Emulator-style URLs (IP literal, localhost, the emulator's ports) name the account in the path. */
export function isPathStyle(u: URL): boolean {
  const h = u.hostname.replace(/^\[|\]$/g, '');
  return /^(\d{1,3}\.){3}\d{1,3}$/.test(h) || h.includes(':') || h === 'localhost' || h === 'host.docker.internal' || ['10000', '10001', '10002', '10003', '10004', '10005'].includes(u.port);
}

/** An http(s) URL reduced to scheme, host, port and path (never user info, query or fragment). */
export function cleanEndpoint(url: string, field: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid(field, `${field} does not hold a valid URL`, 'Give an http(s) URL such as "https://myaccount.blob.core.windows.net".');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(field, `${field} must use http or https`);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/** A SAS URL split into the account URL, the container it points at (if any) and its token. */
export function splitSasUrl(sasUrl: string, field = 'credentials.sas_url'): { accountUrl: string; container?: string; token: string } {
  let u: URL;
  try {
    u = new URL(sasUrl);
  } catch {
    throw invalid(field, 'sas_url is not a valid URL', 'Give the blob service or container SAS URL, e.g. "https://myaccount.blob.core.windows.net/media?sv=...&sig=...".');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(field, 'sas_url must use http or https');
  if (!u.searchParams.has('sig')) throw invalid(field, 'sas_url carries no SAS (no sig parameter)', 'Copy the whole SAS URL, including the query string.');
  const segs = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const accountSegs = isPathStyle(u) ? 1 : 0;
  const base = `${u.protocol}//${u.host}${accountSegs ? `/${encodeURIComponent(segs[0] ?? '')}` : ''}`;
  const container = segs[accountSegs];
  return { accountUrl: base, ...(container ? { container } : {}), token: u.search.replace(/^\?/, '') };
}

/** The account name an endpoint names: `<account>.blob.<suffix>`, or the first path segment of an emulator URL. */
export function accountFromEndpoint(endpoint: string): string | undefined {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return undefined;
  }
  if (isPathStyle(u)) return u.pathname.split('/').filter(Boolean)[0];
  const m = /^([a-z0-9]{3,24})\.blob\./.exec(u.hostname);
  return m?.[1];
}

/** Permissions (sp) and expiry (se) of a SAS token or URL: never its signature. */
export function sasInfo(token: string): { sp?: string; se?: string } {
  const q = new URLSearchParams(token.replace(/^[^?]*\?/, '').replace(/^\?/, ''));
  return { ...(q.get('sp') ? { sp: q.get('sp')! } : {}), ...(q.get('se') ? { se: q.get('se')! } : {}) };
}

/** The SAS text of credentials (token, URL query, or a connection string's SharedAccessSignature), if any. */
export function sasTextOf(creds: Record<string, unknown>): string | undefined {
  if (creds.type === 'sas') {
    if (typeof creds.sas_token === 'string') return creds.sas_token.replace(/^\?/, '');
    if (typeof creds.sas_url === 'string') return creds.sas_url.includes('?') ? creds.sas_url.slice(creds.sas_url.indexOf('?') + 1) : '';
  }
  if (creds.type === 'connection_string' && typeof creds.connection_string === 'string') return parseConnectionString(creds.connection_string).sas;
  return undefined;
}
