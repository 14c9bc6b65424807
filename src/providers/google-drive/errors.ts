import { CloudportError, UNREACHABLE_CODES, headerValue as header, parseRetryAfter, unreachable, THROTTLED_FIX, unwrapCloudportError } from '../../shared/errors.js';

export interface DriveErrorContext {
  /** The file's key, when the request was about one file. */
  key?: string;
  /** What the connector points at, for messages: "folder 1AbC…", "shared drive 0AxY…" or "My Drive". */
  root: string;
  /** The connector field naming that root (root_folder_id or drive_id), when one was given. */
  rootField?: string;
  endpoint?: string | null;
  /** Who the credentials act as (a service account's email), for sharing fixes. */
  principal?: string;
  /** What the failed request needed: listing, reading or writing. */
  need?: 'list' | 'read' | 'write';
}

/** Reasons Drive gives with 403 for quota and rate limits: temporary, never a refusal. */
const RATE_REASONS = new Set(['userRateLimitExceeded', 'rateLimitExceeded', 'sharingRateLimitExceeded', 'dailyLimitExceeded', 'quotaExceeded']);
const NETWORK = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/** The fix for a refusal: whom to share what with, in Drive's words. */
export function shareFix(ctx: DriveErrorContext, need: 'list' | 'read' | 'write' = ctx.need ?? 'read'): string {
  const who = ctx.principal ? ` with ${ctx.principal}` : ' with the account these credentials act as';
  if (need === 'write') return `Share the ${ctx.root}${who} as Editor (Content manager on a shared drive), and give the connector the export scope (the token then asks for the full drive scope).`;
  if (need === 'read') return `The file's owner restricts download for viewers ("Viewers can't download"): ask them to allow it, or share the ${ctx.root}${who} as Editor.`;
  return `Share the ${ctx.root}${who} as Viewer (or add it as a member of the shared drive), or set root_folder_id to a folder it can see.`;
}

/**
 * Maps a Drive API error (gaxios), a token error or a network error into a CloudportError. Never
 * copies the response body or the client's message (which may hold request details).
 */
export function mapDriveError(e: unknown, ctx: DriveErrorContext): CloudportError {
  const ours = unwrapCloudportError(e);
  if (ours) return ours;
  const err = e as {
    code?: number | string;
    status?: number;
    message?: string;
    name?: string;
    response?: { status?: number; headers?: unknown; data?: unknown };
    cause?: { code?: string };
  };
  const status = err.status ?? err.response?.status ?? (typeof err.code === 'number' ? err.code : undefined);
  let data = err.response?.data as { error?: { message?: unknown; errors?: { reason?: unknown }[] } } | undefined;
  // With responseType 'stream' gaxios puts the error body in the message, unparsed: the reason is read
  // from it (only the reason: the text itself is never copied).
  if ((!data || typeof data !== 'object') && typeof err.message === 'string' && err.message.trimStart().startsWith('{')) {
    try {
      data = JSON.parse(err.message) as typeof data;
    } catch {
      data = undefined;
    }
  }
  const reason = typeof data?.error?.errors?.[0]?.reason === 'string' ? (data.error.errors[0]!.reason as string) : '';
  const what = ctx.key !== undefined ? `file ${JSON.stringify(ctx.key)}` : `the ${ctx.root}`;
  const retryAfter = parseRetryAfter(header(err.response?.headers, 'retry-after'));

  if (status === 429 || (status === 403 && RATE_REASONS.has(reason))) {
    return new CloudportError('rate_limited', `Google Drive is throttling requests (${reason || status})`, {
      temporary: true,
      fix: `${THROTTLED_FIX} (Drive allows about 12,000 queries per minute per user.)`,
      ...(retryAfter !== undefined ? { retryAfter } : {}),
    });
  }
  if (status === 401) {
    return new CloudportError('permission_denied', 'Google Drive rejected the access token (invalid, expired or revoked credentials)', {
      field: 'credentials',
      fix: 'Check the credentials: a service account key may be deleted or disabled; a refresh token is revoked when the user removes access (run `cloudport auth google-drive` again).',
    });
  }
  if (status === 403) {
    if (reason === 'insufficientPermissions' || reason === 'insufficientScopes' || reason === 'ACCESS_TOKEN_SCOPE_INSUFFICIENT') {
      return new CloudportError('permission_denied', `the access token lacks the Drive scope this needs (${ctx.need === 'write' ? 'drive' : 'drive.readonly'})`, {
        field: 'credentials',
        fix: 'With a subject: add the scope to the service account\'s domain-wide delegation (Admin console → Security → API controls). With oauth: run `cloudport auth google-drive` again (it asks for the drive scope with --write).',
      });
    }
    if (reason === 'exportSizeLimitExceeded') {
      return new CloudportError('unsupported', `${what} is too large for Google to export (its limit is 10 MB per exported file)`, {
        field: 'key',
        fix: 'Split the document, or download it from Drive by hand (File → Download); this file fails, the others go on.',
      });
    }
    if (reason === 'accessNotConfigured' || reason === 'SERVICE_DISABLED') {
      return new CloudportError('permission_denied', 'the Google Drive API is not enabled in the credentials\' project', {
        field: 'credentials',
        fix: 'Enable it: Google Cloud console → APIs & Services → Library → Google Drive API → Enable.',
      });
    }
    if (reason === 'storageQuotaExceeded' || reason === 'teamDriveFileLimitExceeded') {
      return new CloudportError('permission_denied', `Drive refused the upload: ${reason === 'storageQuotaExceeded' ? 'the storage quota is used up' : 'the shared drive holds its most files'}`, {
        fix: 'Free space in the Drive, or export to a shared drive (a service account has no storage quota of its own).',
      });
    }
    if (reason === 'cannotDownloadFile' && ctx.key !== undefined) {
      // The file's owner turned off downloads for viewers: this file's restriction, not the credentials'.
      return new CloudportError('permission_denied', `${what} cannot be downloaded: its owner turned off downloading for viewers (cannotDownloadFile)`, {
        field: 'key',
        fix: "Ask the owner to allow viewers to download it (Share → settings), or give these credentials editor access; other files are not affected.",
      });
    }
    const need = reason === 'cannotDownloadFile' || reason === 'cannotCopyFile' ? 'read' : ctx.need;
    return new CloudportError('permission_denied', `access denied to ${what}${reason ? ` (${reason})` : ''}`, { fix: shareFix(ctx, need) });
  }
  if (status === 404) {
    return ctx.key !== undefined
      ? new CloudportError('not_found', `${what} not found`, { field: 'key', fix: 'Check the key; browse_connector lists what exists.' })
      : new CloudportError('not_found', `the ${ctx.root} does not exist or is not shared with these credentials`, {
          ...(ctx.rootField ? { field: ctx.rootField } : {}),
          fix: `Check the id (the last part of the folder's URL, drive.google.com/drive/folders/<id>); ${shareFix(ctx, 'list')}`,
        });
  }
  if (status === 412 || status === 416) return new CloudportError('conflict', `${what} changed while it was being read`, { temporary: true });
  if (status === 503 || status === 502) return new CloudportError('rate_limited', `Google Drive is unavailable (${status})`, { temporary: true, ...(retryAfter !== undefined ? { retryAfter } : {}) });
  if (status !== undefined && status >= 500) return new CloudportError('unexpected', `Google Drive answered ${status}`, { temporary: true, fix: 'A fault of Google Drive, usually passing: retry in a minute. If it persists, check the Google Workspace status page.' });
  if (status === 400) {
    return new CloudportError('config_invalid', `Google Drive rejected the request (${reason || 'bad request'})`, { fix: 'Check root_folder_id and drive_id (ids, not names or URLs).' });
  }
  if (err.name === 'AbortError' || /aborted/i.test(String(err.message ?? ''))) return new CloudportError('unexpected', 'the request was aborted', { temporary: true });
  const code = typeof err.code === 'string' ? err.code : err.cause?.code;
  const message = String(err.message ?? '');
  const unreachableCode = code && UNREACHABLE_CODES.has(code) ? code : /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT)\b/.exec(message)?.[1];
  const fix = ctx.endpoint ? 'Check that the endpoint URL is right and the server is up.' : 'Check network access to www.googleapis.com.';
  if (unreachableCode) return unreachable(ctx.endpoint, unreachableCode, ctx.endpoint ? 'endpoint' : undefined, fix);
  if ((code && NETWORK.has(code)) || /ECONNRESET|socket hang up|premature close|terminated/i.test(message)) {
    return new CloudportError('unexpected', `the connection to Google Drive broke${code ? ` (${code})` : ''}`, { temporary: true, fix });
  }
  return new CloudportError('unexpected', `Google Drive request failed: ${status ?? (code && /^[A-Z_0-9]+$/.test(code) ? code : 'error')}`, { temporary: false });
}
