import { CloudportError, unwrapCloudportError } from '../../shared/errors.js';

export interface GcsErrorContext {
  bucket: string;
  key?: string;
  endpoint?: string | null;
  permission?: string;
}

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** The predefined role that grants each permission, for fix texts. */
export const ROLE_FOR: Record<string, string> = {
  'storage.objects.list': 'roles/storage.objectViewer',
  'storage.objects.get': 'roles/storage.objectViewer',
  'storage.objects.create': 'roles/storage.objectCreator',
  'storage.objects.delete': 'roles/storage.objectAdmin',
};

/** Maps a @google-cloud/storage ApiError or network error into a CloudportError (never the raw body). */
export function mapGcsError(e: unknown, ctx: GcsErrorContext): CloudportError {
  const ours = unwrapCloudportError(e);
  if (ours) return ours;
  const err = e as { code?: number | string; message?: string; errors?: { reason?: string }[]; response?: { headers?: Record<string, string> } };
  const status = typeof err.code === 'number' ? err.code : undefined;
  const reason = err.errors?.[0]?.reason ?? '';
  const what = ctx.key !== undefined ? `object ${JSON.stringify(ctx.key)} in bucket ${JSON.stringify(ctx.bucket)}` : `bucket ${JSON.stringify(ctx.bucket)}`;
  const retryAfter = Number(err.response?.headers?.['retry-after']);
  if (status === 404) {
    const bucketMissing = ctx.key === undefined || /bucket does not exist/i.test(err.message ?? '');
    return bucketMissing
      ? new CloudportError('not_found', `bucket ${JSON.stringify(ctx.bucket)} does not exist`, { field: 'bucket', fix: 'Check the bucket name (gcloud storage ls).' })
      : new CloudportError('not_found', `${what} not found`, { fix: 'Check the key; browse_connector lists what exists.' });
  }
  if (status === 401) {
    return new CloudportError('permission_denied', 'the credentials were rejected (invalid or expired)', {
      field: 'credentials',
      fix: 'Check the service account key (it may be deleted or disabled), or the Application Default Credentials.',
    });
  }
  if (status === 403) {
    const perm = ctx.permission ?? 'storage.objects.get';
    return new CloudportError('permission_denied', `access denied to ${what}`, {
      fix: `Grant ${perm} (role ${ROLE_FOR[perm] ?? 'roles/storage.objectViewer'}) on bucket ${ctx.bucket} to the service account.`,
    });
  }
  if (status === 412) return new CloudportError('conflict', `${what} changed while it was being read`, { temporary: true });
  if (status === 429 || reason === 'rateLimitExceeded') {
    return new CloudportError('rate_limited', 'the storage service is throttling requests', { temporary: true, ...(retryAfter > 0 ? { retryAfter } : {}) });
  }
  if (status !== undefined && status >= 500) return new CloudportError('unexpected', `the storage service answered ${status}`, { temporary: true });
  if (status === 400) return new CloudportError('config_invalid', `the storage service rejected the request (${reason || 'bad request'})`, { fix: 'Check bucket and endpoint.' });
  const code = typeof err.code === 'string' ? err.code : (e as { cause?: { code?: string } }).cause?.code;
  if ((code && NETWORK.has(code)) || /ECONNREFUSED|ECONNRESET|socket hang up/.test(err.message ?? '')) {
    return new CloudportError('unexpected', `cannot reach the storage endpoint${ctx.endpoint ? ` ${ctx.endpoint}` : ''}`, {
      field: ctx.endpoint ? 'endpoint' : undefined,
      temporary: true,
      fix: 'Check that the endpoint is right and reachable.',
    });
  }
  return new CloudportError('unexpected', `storage request failed: ${status ?? code ?? 'error'}`, { temporary: false });
}
