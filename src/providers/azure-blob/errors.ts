import { CloudportError, UNREACHABLE_CODES, unreachable, THROTTLED_FIX, unwrapCloudportError } from '../../shared/errors.js';

export type SasRight = 'l' | 'r' | 'w' | 'd';

export interface AzureErrorContext {
  container: string;
  key?: string;
  /** The account URL requests go to (no query, no secret), for messages. */
  endpoint?: string | null;
  /** The input field that set that URL: endpoint, account_name, or credentials (a connection string or SAS URL). */
  endpointField?: string;
  /** The SAS right the operation needs, for fix texts: l (list), r (read), w (write), d (delete). */
  right?: SasRight;
  /** How the client authenticates: an account key, a SAS (with its sp / se when known), or an Entra ID token. */
  auth?: 'key' | 'sas' | 'token';
  sas?: { sp?: string; se?: string };
}

const RIGHT_NAME = { l: 'list', r: 'read', w: 'write', d: 'delete' } as const;
const ROLE_FOR = { l: 'Storage Blob Data Reader', r: 'Storage Blob Data Reader', w: 'Storage Blob Data Contributor', d: 'Storage Blob Data Contributor' } as const;
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'REQUEST_SEND_ERROR']);
const IDENTITY_ERRORS = new Set(['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError', 'AuthenticationRequiredError']);

interface RestErrorLike {
  name?: string;
  statusCode?: number;
  code?: string;
  message?: string;
  details?: { errorCode?: string };
  response?: { headers?: { get(n: string): string | undefined } };
  cause?: { code?: string };
}

/** Retry-After in seconds (delta-seconds or an HTTP date), if the answer carried one. */
function retryAfterOf(err: RestErrorLike): number | undefined {
  const h = err.response?.headers?.get('retry-after');
  if (!h) return undefined;
  if (/^\d+$/.test(h.trim())) return Number(h.trim());
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** What a 403 for a missing right should say, by how the client authenticates. */
function missingRight(ctx: AzureErrorContext): { message: string; fix: string } {
  const right = ctx.right ?? 'r';
  const name = RIGHT_NAME[right];
  if (ctx.auth === 'sas') {
    const grants = ctx.sas?.sp ? ` (it grants sp=${ctx.sas.sp})` : '';
    return {
      message: `the SAS lacks the ${name} right ("${right}")${grants}`,
      fix: `Issue a SAS whose permissions (sp) include "${right}": the ${name} right. Account SAS tokens also need srt to include the container/object resource types.`,
    };
  }
  return {
    message: `the credentials lack the ${name} right`,
    fix: `Grant the ${name} right: assign a role such as ${ROLE_FOR[right]} on the container (or use a SAS whose sp includes "${right}").`,
  };
}

/** Maps an @azure/storage-blob RestError, an @azure/identity error or a network error into a CloudportError (never the raw XML, never the key or SAS). */
export function mapAzureError(e: unknown, ctx: AzureErrorContext): CloudportError {
  const ours = unwrapCloudportError(e);
  if (ours) return ours;
  const err = (e ?? {}) as RestErrorLike;
  const status = err.statusCode;
  const code = err.details?.errorCode ?? err.code ?? '';
  const what = ctx.key !== undefined ? `blob ${JSON.stringify(ctx.key)} in container ${JSON.stringify(ctx.container)}` : `container ${JSON.stringify(ctx.container)}`;
  const retryAfter = retryAfterOf(err);
  const throttled = () =>
    new CloudportError('rate_limited', 'the storage account is throttling requests', { temporary: true, fix: THROTTLED_FIX, ...(retryAfter !== undefined ? { retryAfter } : {}) });

  if (err.name && IDENTITY_ERRORS.has(err.name)) {
    return new CloudportError('permission_denied', 'DefaultAzureCredential could not get a token for this host', {
      field: 'credentials',
      fix: 'Give the host an identity (AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET, workload or managed identity, or az login), or use account_key, connection_string or sas credentials.',
    });
  }
  // Azure answers a wrong key with AuthenticationFailed; azurite with AuthorizationFailure "Server failed to authenticate".
  const authFailed = code === 'AuthenticationFailed' || code === 'InvalidAuthenticationInfo' || (status === 403 && code === 'AuthorizationFailure' && /failed to authenticate/i.test(err.message ?? ''));
  if (authFailed) {
    if (ctx.auth === 'sas') {
      const expired = ctx.sas?.se && Date.parse(ctx.sas.se) < Date.now();
      return new CloudportError('permission_denied', expired ? `the SAS expired at ${ctx.sas!.se}` : 'the storage account rejected the SAS (wrong signature, expired, not yet valid, or for another resource)', {
        field: 'credentials',
        fix: 'Issue a new SAS for this container (check its expiry se, start st and signature), and copy it whole.',
      });
    }
    if (ctx.auth === 'token') {
      return new CloudportError('permission_denied', 'the storage account rejected the Entra ID token', { field: 'credentials', fix: 'Check that the identity belongs to the tenant of the storage account.' });
    }
    return new CloudportError('permission_denied', 'the storage account rejected the account key (the request signature does not match)', {
      field: 'credentials',
      fix: 'Check the account key (or the AccountKey of the connection string) and that it belongs to this storage account; keys change when rotated.',
    });
  }
  switch (code) {
    case 'ContainerNotFound':
      return new CloudportError('not_found', `container ${JSON.stringify(ctx.container)} does not exist${ctx.endpoint ? ` at ${ctx.endpoint}` : ''}`, {
        field: 'container',
        fix: 'Check the container name (az storage container list) and the account.',
      });
    case 'BlobNotFound':
      return new CloudportError('not_found', `${what} not found`, { field: 'key', fix: 'Check the key; browse_connector lists what exists.' });
    case 'AuthorizationPermissionMismatch':
    case 'AuthorizationFailure':
    case 'AuthorizationResourceTypeMismatch':
    case 'AuthorizationServiceMismatch':
    case 'InsufficientAccountPermissions': {
      const m = missingRight(ctx);
      return new CloudportError('permission_denied', `access denied to ${what}: ${m.message}`, { fix: m.fix });
    }
    case 'AuthorizationSourceIPMismatch':
    case 'AuthorizationProtocolMismatch':
      return new CloudportError('permission_denied', `access denied to ${what}: the SAS does not allow this ${code === 'AuthorizationSourceIPMismatch' ? 'client address' : 'protocol'}`, {
        fix: 'Issue a SAS without an IP restriction (sip) for this host, or with spr=https,http for an http endpoint.',
      });
    case 'AccountIsDisabled':
      return new CloudportError('permission_denied', 'the storage account is disabled', { fix: 'Re-enable the storage account in the Azure portal.' });
    case 'ConditionNotMet':
      return new CloudportError('conflict', `${what} changed while it was being read`, { temporary: true, fix: 'Retry: the blob will be read again from the start.' });
    case 'InvalidRange':
      return new CloudportError('conflict', `${what} is shorter than expected (it changed while being read)`, { temporary: true });
    case 'BlobArchived':
      return new CloudportError('unsupported', `needs restore: ${what} is in the Archive tier`, {
        fix: 'Rehydrate it to the Hot or Cool tier (az storage blob set-tier --tier Hot) and import it again once rehydration is done.',
      });
    case 'BlobBeingRehydrated':
      return new CloudportError('unsupported', `needs restore: ${what} is being rehydrated from the Archive tier`, { fix: 'Import it again once rehydration is done (up to 15 hours).' });
    case 'Md5Mismatch':
    case 'Crc64Mismatch':
      return new CloudportError('unexpected', `the bytes of ${what} were corrupted on the way (checksum mismatch)`, { temporary: true });
    case 'OutOfRangeInput':
    case 'InvalidResourceName':
      if (ctx.key === undefined) return new CloudportError('config_invalid', `container ${JSON.stringify(ctx.container)} is not a valid container name`, { field: 'container' });
      return new CloudportError('config_invalid', `the storage account refused the name of ${what}`, { fix: 'Azure blob names are 1-1024 characters; "." and ".." path segments are resolved away.' });
    case 'ServerBusy':
    case 'OperationTimedOut':
    case 'TooManyRequests':
      return throttled();
  }
  if (status === 404) return new CloudportError('not_found', `${what} not found`, { field: ctx.key !== undefined ? 'key' : 'container' });
  if (status === 403) {
    const m = missingRight(ctx);
    return new CloudportError('permission_denied', `access denied to ${what}`, { fix: m.fix });
  }
  if (status === 412) return new CloudportError('conflict', `${what} changed while it was being read`, { temporary: true });
  if (status === 416) return new CloudportError('conflict', `${what} is shorter than expected (it changed while being read)`, { temporary: true });
  if (status === 429 || status === 503) return throttled();
  if (status !== undefined && status >= 300 && status < 400) {
    return new CloudportError('unexpected', `the storage endpoint answered a redirect (${status}); cloudport does not follow redirects`, { field: ctx.endpointField, fix: 'Point the endpoint at the storage account itself.' });
  }
  if (status !== undefined && status >= 500) return new CloudportError('unexpected', `the storage account answered ${status}${code ? ` (${code})` : ''}`, { temporary: true, field: ctx.endpointField, fix: 'A fault of the service, usually passing: retry in a minute. If it persists, check the service status and the endpoint.' });
  if (status === 400) return new CloudportError('config_invalid', `the storage account rejected the request (${code || 'bad request'})`, { fix: 'Check container, account and endpoint.' });
  const net = NETWORK.has(code) ? code : NETWORK.has(err.cause?.code ?? '') ? err.cause!.code : /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)\b/.exec(err.message ?? '')?.[1];
  // A send failure (REQUEST_SEND_ERROR) carries the socket's own code in its cause or message.
  const noConnection = [code, err.cause?.code, /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT)\b/.exec(err.message ?? '')?.[1]].find((c) => c && UNREACHABLE_CODES.has(c));
  if (noConnection) return unreachable(ctx.endpoint, noConnection, ctx.endpointField, 'Check that the endpoint (or account name) is right and reachable.');
  if (net) {
    return new CloudportError('unexpected', `cannot reach the storage endpoint${ctx.endpoint ? ` ${ctx.endpoint}` : ''}${net !== 'REQUEST_SEND_ERROR' ? ` (${net})` : ''}`, {
      field: ctx.endpointField,
      temporary: true,
      fix: 'Check that the endpoint (or account name) is right and reachable.',
    });
  }
  if (err.name === 'AbortError') return new CloudportError('unexpected', 'the request was aborted', { temporary: true });
  return new CloudportError('unexpected', `storage request failed: ${code || status || err.name || 'error'}`, { temporary: false });
}
