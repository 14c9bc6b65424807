import { S3ServiceException } from '@aws-sdk/client-s3';
import { CloudportError, UNREACHABLE_CODES, unreachable, THROTTLED_FIX, unwrapCloudportError } from '../../shared/errors.js';

export interface S3ErrorContext {
  bucket: string;
  key?: string;
  region?: string | null;
  endpoint?: string | null;
  /** The IAM action the failed request needed, for the fix text. */
  action?: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

/** Maps an S3 SDK or network error into a CloudportError: never the raw XML, never a secret. */
export function mapS3Error(e: unknown, ctx: S3ErrorContext): CloudportError {
  const ours = unwrapCloudportError(e);
  if (ours) return ours;
  const err = e as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } };
  const status = err.$metadata?.httpStatusCode;
  const code = err.name ?? err.code ?? '';
  const arn = ctx.key !== undefined ? `arn:aws:s3:::${ctx.bucket}/*` : `arn:aws:s3:::${ctx.bucket}`;
  const action = ctx.action ?? 's3:ListBucket';
  const retryAfterHeader = err.$response?.headers?.['retry-after'];
  const retryAfter = retryAfterHeader && /^\d+$/.test(retryAfterHeader) ? Number(retryAfterHeader) : undefined;
  const what = ctx.key !== undefined ? `object ${JSON.stringify(ctx.key)} in bucket ${JSON.stringify(ctx.bucket)}` : `bucket ${JSON.stringify(ctx.bucket)}`;

  if (e instanceof S3ServiceException || status !== undefined) {
    switch (code) {
      case 'NoSuchBucket':
        return new CloudportError('not_found', `bucket ${JSON.stringify(ctx.bucket)} does not exist${ctx.endpoint ? ` at ${ctx.endpoint}` : ''}`, {
          field: 'bucket',
          fix: 'Check the bucket name (and region/endpoint); list your buckets with `aws s3 ls`.',
        });
      case 'NoSuchKey':
      case 'NotFound':
        return new CloudportError('not_found', `${what} not found`, { field: ctx.key !== undefined ? 'key' : 'bucket', fix: 'Check the key; browse_connector lists what exists.' });
      case 'InvalidAccessKeyId':
        return new CloudportError('permission_denied', 'the access key id is not known to the storage service', {
          field: 'credentials.access_key_id',
          fix: 'Check access_key_id (and that the key is active and belongs to this account/endpoint).',
        });
      case 'SignatureDoesNotMatch':
        return new CloudportError('permission_denied', 'the request signature does not match: the secret access key is wrong', {
          field: 'credentials.secret_access_key',
          fix: 'Check secret_access_key for the given access_key_id (no extra spaces or newlines).',
        });
      case 'ExpiredToken':
      case 'TokenRefreshRequired':
      case 'InvalidToken':
        return new CloudportError('permission_denied', 'the session token is expired or invalid', {
          field: 'credentials.session_token',
          fix: 'Obtain fresh temporary credentials (or use long-lived keys / role assumption).',
        });
      case 'RequestTimeTooSkewed':
        return new CloudportError('permission_denied', "the request time is too far from the server's clock", {
          fix: "Synchronize this machine's clock (NTP) and retry.",
          temporary: false,
        });
      case 'AccessDenied':
      case 'AllAccessDisabled':
      case 'Forbidden':
        return new CloudportError('permission_denied', `access denied to ${what}`, {
          fix: `Grant ${action} on ${arn} to these credentials (and check bucket policy / SCPs).`,
        });
      case 'PermanentRedirect':
      case 'AuthorizationHeaderMalformed':
      case 'IllegalLocationConstraintException':
        return new CloudportError('config_invalid', `bucket ${JSON.stringify(ctx.bucket)} is not in region ${JSON.stringify(ctx.region ?? 'us-east-1')}`, {
          field: 'region',
          fix: "Set region to the bucket's region (aws s3api get-bucket-location).",
        });
      case 'SlowDown':
      case 'Throttling':
      case 'ThrottlingException':
      case 'TooManyRequestsException':
      case 'RequestLimitExceeded':
        return new CloudportError('rate_limited', 'the storage service is throttling requests', { temporary: true, retryAfter, fix: THROTTLED_FIX });
      case 'BadDigest':
      case 'XAmzContentSHA256Mismatch':
        // A write's checksum did not match what arrived: bytes damaged on the way; sending again helps.
        return new CloudportError('unexpected', `the bytes sent for ${what} were corrupted on the way (checksum mismatch: ${code})`, { temporary: true });
      case 'PreconditionFailed':
        return new CloudportError('conflict', `${what} changed while it was being read`, { temporary: true, fix: 'Retry: the object will be read again from the start.' });
      case 'InvalidObjectState':
        return new CloudportError('unsupported', `${what} is archived (Glacier/Deep Archive) and needs restore before it can be read`, {
          fix: 'Restore the object (aws s3api restore-object) and import it again.',
        });
    }
    if (status !== undefined && status >= 300 && status < 400) return redirected(status, err.$response?.headers ?? {}, ctx);
    if (status === 404) return new CloudportError('not_found', `${what} not found`, { field: ctx.key !== undefined ? 'key' : 'bucket', fix: 'Check the bucket and key.' });
    if (status === 403) return new CloudportError('permission_denied', `access denied to ${what}`, { fix: `Grant ${action} on ${arn} to these credentials.` });
    if (status === 429 || status === 503) return new CloudportError('rate_limited', 'the storage service is throttling requests', { temporary: true, retryAfter, fix: THROTTLED_FIX });
    if (status === 416) return new CloudportError('conflict', `${what} is shorter than expected (it changed while being read)`, { temporary: true });
    if (status !== undefined && status >= 500) return new CloudportError('unexpected', `the storage service answered ${status} (${code || 'server error'})`, { temporary: true, fix: 'A fault of the service, usually passing: retry in a minute. If it persists, check the service status (or, for an S3-compatible server, its logs) and the endpoint.' });
    if (status === 400) return new CloudportError('config_invalid', `the storage service rejected the request (${code || 'bad request'})`, { fix: 'Check bucket, region and endpoint.' });
  }
  const netCode = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  const fix = ctx.endpoint ? 'Check that the endpoint URL is right and the server is up.' : 'Check network access to the storage service.';
  if (netCode && UNREACHABLE_CODES.has(netCode)) return unreachable(ctx.endpoint, netCode, ctx.endpoint ? 'endpoint' : undefined, fix);
  // The SDK's connection timeout: no connection was made within connectionTimeout.
  if (code === 'TimeoutError' && /establishing a connection/i.test(err.message ?? '')) return unreachable(ctx.endpoint, 'connect timeout', ctx.endpoint ? 'endpoint' : undefined, fix);
  if (netCode && NETWORK_CODES.has(netCode)) {
    return new CloudportError('unexpected', `cannot reach the storage endpoint${ctx.endpoint ? ` ${ctx.endpoint}` : ''} (${netCode})`, {
      field: ctx.endpoint ? 'endpoint' : undefined,
      temporary: true,
      fix: ctx.endpoint ? 'Check that the endpoint URL is right and the server is up.' : 'Check network access to the storage service.',
    });
  }
  // undici's body timeout: the answer began, then nothing came for the idle timeout (a listing page; a
  // download has its own watchdog). The request is repeated, so it is temporary.
  if (netCode === 'UND_ERR_BODY_TIMEOUT') {
    return new CloudportError('unexpected', 'the storage endpoint stopped sending in the middle of an answer', {
      temporary: true,
      fix: 'A passing fault is retried; if it persists, check the endpoint and the network in between (CLOUDPORT_IDLE_TIMEOUT_MS sets how long a silence may last).',
    });
  }
  if (code === 'AbortError' || code === 'TimeoutError' || code === 'RequestTimeout') {
    return new CloudportError('unexpected', 'the request to the storage service timed out', { temporary: true });
  }
  return new CloudportError('unexpected', `storage request failed: ${code || err.message || 'unknown error'}`, { temporary: false });
}

/**
 * A redirect (an http:// endpoint moved to https://, a bucket in another region): never followed (its
 * target would escape the endpoint policy), so the setting to change is named, with where it points
 * (its origin only: a URL's path or query may carry a signature).
 */
function redirected(status: number, headers: Record<string, string>, ctx: S3ErrorContext): CloudportError {
  const h = (name: string) => Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  let to = '';
  try {
    to = new URL(h('location') ?? '').origin;
  } catch {
    // No Location, or not a URL: the status alone is said.
  }
  const region = h('x-amz-bucket-region');
  return new CloudportError('config_invalid', `the storage endpoint answered ${status}, a redirect${to && to !== 'null' ? ` to ${to}` : ''}; cloudport does not follow redirects`, {
    field: region ? 'region' : ctx.endpoint ? 'endpoint' : 'region',
    fix: region ? `Set region to ${region}, the bucket's region.` : ctx.endpoint ? `Set endpoint to the URL it redirects to${to && to !== 'null' ? ` (${to})` : ''}: often https:// rather than http://.` : "Set region to the bucket's region.",
  });
}
