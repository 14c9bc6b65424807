import { CloudportError, unwrapCloudportError } from '../../shared/errors.js';

export interface AzureErrorContext {
  container: string;
  key?: string;
  endpoint?: string | null;
  /** The SAS right the operation needs, for fix texts: l (list), r (read), w (write), d (delete). */
  right?: 'l' | 'r' | 'w' | 'd';
}

const RIGHT_NAME = { l: 'list', r: 'read', w: 'write', d: 'delete' } as const;
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'REQUEST_SEND_ERROR']);

/** Maps an @azure/storage-blob RestError or network error into a CloudportError (never the raw XML, never the SAS). */
export function mapAzureError(e: unknown, ctx: AzureErrorContext): CloudportError {
  const ours = unwrapCloudportError(e);
  if (ours) return ours;
  const err = e as { statusCode?: number; code?: string; details?: { errorCode?: string }; response?: { headers?: { get(n: string): string | undefined } }; message?: string };
  const status = err.statusCode;
  const code = err.details?.errorCode ?? err.code ?? '';
  const what = ctx.key !== undefined ? `blob ${JSON.stringify(ctx.key)} in container ${JSON.stringify(ctx.container)}` : `container ${JSON.stringify(ctx.container)}`;
  const retryAfter = Number(err.response?.headers?.get('retry-after'));
  switch (code) {
    case 'ContainerNotFound':
      return new CloudportError('not_found', `container ${JSON.stringify(ctx.container)} does not exist`, { field: 'container', fix: 'Check the container name (az storage container list).' });
    case 'BlobNotFound':
      return new CloudportError('not_found', `${what} not found`, { fix: 'Check the key; browse_connector lists what exists.' });
    case 'AuthenticationFailed':
    case 'InvalidAuthenticationInfo':
      return new CloudportError('permission_denied', 'the storage account rejected the credentials (wrong key, or an invalid or expired SAS)', {
        field: 'credentials',
        fix: 'Check the account key / connection string, or issue a new SAS (check its expiry and signature).',
      });
    case 'AuthorizationPermissionMismatch':
    case 'AuthorizationFailure':
    case 'AuthorizationResourceTypeMismatch':
    case 'InsufficientAccountPermissions': {
      const right = ctx.right ?? 'r';
      return new CloudportError('permission_denied', `access denied to ${what}`, {
        fix: `The credentials lack the ${RIGHT_NAME[right]} right: issue a SAS with "${right}" in its permissions (sp), or grant a role with ${RIGHT_NAME[right]} access (e.g. Storage Blob Data Reader) on the container.`,
      });
    }
    case 'ConditionNotMet':
      return new CloudportError('conflict', `${what} changed while it was being read`, { temporary: true });
    case 'ServerBusy':
    case 'OperationTimedOut':
      return new CloudportError('rate_limited', 'the storage account is throttling requests', { temporary: true, ...(retryAfter > 0 ? { retryAfter } : {}) });
  }
  if (status === 404) return new CloudportError('not_found', `${what} not found`);
  if (status === 403) return new CloudportError('permission_denied', `access denied to ${what}`, { fix: 'Check the credentials and their rights on the container.' });
  if (status === 412) return new CloudportError('conflict', `${what} changed while it was being read`, { temporary: true });
  if (status === 429 || status === 503) return new CloudportError('rate_limited', 'the storage account is throttling requests', { temporary: true, ...(retryAfter > 0 ? { retryAfter } : {}) });
  if (status !== undefined && status >= 500) return new CloudportError('unexpected', `the storage account answered ${status}`, { temporary: true });
  if (status === 400) return new CloudportError('config_invalid', `the storage account rejected the request (${code || 'bad request'})`, { fix: 'Check container, account and endpoint.' });
  if (NETWORK.has(code) || NETWORK.has((e as { cause?: { code?: string } }).cause?.code ?? '')) {
    return new CloudportError('unexpected', `cannot reach the storage endpoint${ctx.endpoint ? ` ${ctx.endpoint}` : ''}`, { field: ctx.endpoint ? 'endpoint' : undefined, temporary: true, fix: 'Check that the endpoint is right and reachable.' });
  }
  if ((e as { name?: string }).name === 'AbortError') return new CloudportError('unexpected', 'the request was aborted', { temporary: true });
  return new CloudportError('unexpected', `storage request failed: ${code || status || 'error'}`, { temporary: false });
}
