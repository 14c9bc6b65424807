import { CloudportError, UNREACHABLE_CODES, headerValue as header, parseRetryAfter, unreachable, THROTTLED_FIX, unwrapCloudportError } from '../../shared/errors.js';

export interface GcsErrorContext {
  bucket: string;
  key?: string;
  endpoint?: string | null;
  /** The IAM permission the failed request needed, for fix texts. */
  permission?: string;
  /** False when the client sends no credentials to this endpoint (see `sendsCredentials`). */
  authenticated?: boolean;
}

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/** The predefined role that grants each permission, for fix texts. */
export const ROLE_FOR: Record<string, string> = {
  'storage.objects.list': 'roles/storage.objectViewer',
  'storage.objects.get': 'roles/storage.objectViewer',
  'storage.objects.create': 'roles/storage.objectCreator',
  'storage.objects.delete': 'roles/storage.objectUser',
};

/** "Grant P (role R) on bucket B": the fix for a missing permission. */
export function grantFix(permission: string, bucket: string): string {
  return `Grant ${permission} (role ${ROLE_FOR[permission] ?? 'roles/storage.objectViewer'}) on bucket ${bucket} to these credentials.`;
}

/**
 * Maps a @google-cloud/storage ApiError, an auth-library error or a network error into a
 * CloudportError. Never copies the raw response body or the SDK's message (which may hold it).
 */
export function mapGcsError(e: unknown, ctx: GcsErrorContext): CloudportError {
  const ours = unwrapCloudportError(e);
  if (ours) return ours;
  const err = e as {
    code?: number | string;
    status?: number;
    message?: string;
    name?: string;
    errors?: { reason?: string; message?: string }[];
    response?: { status?: number; statusCode?: number; headers?: unknown; data?: unknown };
  };
  const status = typeof err.code === 'number' ? err.code : (err.response?.statusCode ?? err.response?.status);
  const reason = err.errors?.[0]?.reason ?? '';
  const message = String(err.message ?? '');
  const what = ctx.key !== undefined ? `object ${JSON.stringify(ctx.key)} in bucket ${JSON.stringify(ctx.bucket)}` : `bucket ${JSON.stringify(ctx.bucket)}`;
  const retryAfter = parseRetryAfter(header(err.response?.headers, 'retry-after'));

  // Failures before any storage request: Application Default Credentials, the key, the token exchange.
  if (/Could not load the default credentials|Unable to detect a Project Id/i.test(message)) {
    return new CloudportError('permission_denied', 'no Application Default Credentials were found on this host', {
      field: 'credentials',
      fix: 'Run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS for the server, run it with an attached service account, or give {type: "service_account", json}.',
    });
  }
  if (/invalid_grant|invalid_client|unauthorized_client/.test(message)) {
    return new CloudportError('permission_denied', 'Google refused to issue a token for these credentials (the key may be deleted, disabled or from another account)', {
      field: 'credentials.json',
      fix: 'Create a new key for the service account (gcloud iam service-accounts keys create) and give its JSON.',
    });
  }
  if (status === undefined && /DECODER routines|PEM|asn1|private key|secretOrPrivateKey|No key or keyFile/i.test(message)) {
    return new CloudportError('config_invalid', 'the private_key in credentials.json cannot be used to sign requests', {
      field: 'credentials.json',
      fix: 'Give the service account key file (JSON) exactly as downloaded; its private_key is a PEM block.',
    });
  }

  if (status === 404) {
    const bucketMissing = ctx.key === undefined || /bucket does not exist/i.test(message);
    return bucketMissing
      ? new CloudportError('not_found', `bucket ${JSON.stringify(ctx.bucket)} does not exist${ctx.endpoint ? ` at ${ctx.endpoint}` : ''}`, {
          field: 'bucket',
          fix: 'Check the bucket name, without gs:// (gcloud storage ls).',
        })
      : new CloudportError('not_found', `${what} not found`, { field: 'key', fix: 'Check the key; browse_connector lists what exists.' });
  }
  if (status === 401) {
    return new CloudportError('permission_denied', 'the storage service rejected the credentials (invalid, expired or revoked)', {
      field: 'credentials',
      fix:
        ctx.authenticated === false
          ? `cloudport sends Google credentials only to https://*.googleapis.com endpoints, and ${ctx.endpoint ?? 'this endpoint'} asks for them: use the default endpoint or a Private Service Connect one.`
          : 'Check the service account key (it may be deleted or disabled), or the Application Default Credentials.',
    });
  }
  if (status === 403) {
    if (/requester pays|user project/i.test(message) || reason === 'userProjectMissing') {
      return new CloudportError('unsupported', `bucket ${JSON.stringify(ctx.bucket)} is a Requester Pays bucket`, { fix: 'Requester Pays buckets are not supported yet; turn it off or copy the data to another bucket.' });
    }
    if (reason === 'accountDisabled' || reason === 'userProjectAccountProblem') {
      return new CloudportError('permission_denied', 'the Google Cloud account or project is disabled (billing or abuse)', { fix: 'Check the project and its billing account in the Cloud Console.' });
    }
    const perm = ctx.permission ?? 'storage.objects.get';
    return new CloudportError('permission_denied', `access denied to ${what}`, { fix: grantFix(perm, ctx.bucket) });
  }
  if (status === 412) return new CloudportError('conflict', `${what} changed while it was being read`, { temporary: true, fix: 'Retry: the object will be read again from the start.' });
  if (status === 416) return new CloudportError('conflict', `${what} is shorter than expected (it changed while being read)`, { temporary: true });
  if (status === 429 || reason === 'rateLimitExceeded' || reason === 'userRateLimitExceeded') {
    return new CloudportError('rate_limited', 'the storage service is throttling requests', {
      temporary: true,
      fix: THROTTLED_FIX,
      ...(retryAfter !== undefined ? { retryAfter } : {}),
    });
  }
  if (status === 503) return new CloudportError('rate_limited', 'the storage service is unavailable (503)', { temporary: true, fix: THROTTLED_FIX, ...(retryAfter !== undefined ? { retryAfter } : {}) });
  if (status !== undefined && status >= 500) return new CloudportError('unexpected', `the storage service answered ${status}`, { temporary: true, fix: 'A fault of the service, usually passing: retry in a minute. If it persists, check the service status and the endpoint.' });
  if (status === 400) {
    if (/requester pays|user project/i.test(message)) {
      return new CloudportError('unsupported', `bucket ${JSON.stringify(ctx.bucket)} is a Requester Pays bucket`, { fix: 'Requester Pays buckets are not supported yet; turn it off or copy the data to another bucket.' });
    }
    if (/(MD5|CRC32C).*doesn't match calculated/i.test(message)) {
      // An upload's md5Hash / crc32c did not match what arrived: bytes damaged on the way; sending again helps.
      return new CloudportError('unexpected', `the bytes sent for ${what} were corrupted on the way (checksum mismatch)`, { temporary: true });
    }
    return new CloudportError('config_invalid', `the storage service rejected the request (${reason || 'bad request'})`, { fix: 'Check the bucket name and endpoint.' });
  }
  if (err.name === 'AbortError' || /aborted/i.test(message)) return new CloudportError('unexpected', 'the request was aborted', { temporary: true });
  const code = typeof err.code === 'string' ? err.code : (e as { cause?: { code?: string } }).cause?.code;
  const unreachableCode = code && UNREACHABLE_CODES.has(code) ? code : /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT)\b/.exec(message)?.[1];
  if (unreachableCode) {
    return unreachable(ctx.endpoint, unreachableCode, ctx.endpoint ? 'endpoint' : undefined, ctx.endpoint ? 'Check that the endpoint URL is right and the server is up.' : 'Check network access to storage.googleapis.com.');
  }
  // The resumable upload's client (gaxios) reports a cut connection only in its message: "… reason: write EPIPE".
  const netInMessage = /\b(ECONNRESET|EPIPE|ECONNABORTED)\b|socket hang up|premature close/i.exec(message)?.[0];
  if ((code && NETWORK.has(code)) || netInMessage) {
    const shown = code && NETWORK.has(code) ? code : netInMessage;
    return new CloudportError('unexpected', `cannot reach the storage endpoint${ctx.endpoint ? ` ${ctx.endpoint}` : ''}${shown ? ` (${shown}: the connection was cut)` : ''}`, {
      field: ctx.endpoint ? 'endpoint' : undefined,
      temporary: true,
      fix: ctx.endpoint ? 'Check that the endpoint URL is right and the server is up.' : 'Check network access to storage.googleapis.com.',
    });
  }
  return new CloudportError('unexpected', `storage request failed: ${status ?? (code && /^[A-Z_0-9]+$/.test(code) ? code : 'error')}`, { temporary: false });
}
