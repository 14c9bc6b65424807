/**
 * The one error type of cloudport. Every layer throws CloudportError (or lets a provider's
 * error mapper turn its native errors into one); tools turn it into an `isError` result.
 */
export const ERROR_KINDS = [
  'not_found',
  'permission_denied',
  'config_invalid',
  'rate_limited',
  'unsupported',
  'conflict',
  'unexpected',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export interface ErrorInfo {
  kind: ErrorKind;
  message: string;
  /** A path into the tool input, such as `credentials.secret_access_key` or `keys[3]`. */
  field?: string;
  /** What the user should do about it. */
  fix?: string;
  /** True when the same call may succeed later without any change. */
  temporary: boolean;
}

export class CloudportError extends Error {
  readonly kind: ErrorKind;
  readonly field?: string;
  readonly fix?: string;
  readonly temporary: boolean;
  /** Seconds the server asked us to wait (Retry-After), if any. */
  readonly retryAfter?: number;
  /** Extra structured data a tool may return beside the error (e.g. failed test checks). */
  readonly details?: Record<string, unknown>;

  constructor(
    kind: ErrorKind,
    message: string,
    opts: {
      field?: string;
      fix?: string;
      temporary?: boolean;
      retryAfter?: number;
      details?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'CloudportError';
    this.kind = kind;
    this.field = opts.field;
    this.fix = opts.fix;
    this.temporary = opts.temporary ?? (kind === 'rate_limited');
    this.retryAfter = opts.retryAfter;
    this.details = opts.details;
  }

  toInfo(): ErrorInfo {
    const info: ErrorInfo = { kind: this.kind, message: this.message, temporary: this.temporary };
    if (this.field !== undefined) info.field = this.field;
    if (this.fix !== undefined) info.fix = this.fix;
    return info;
  }
}

/**
 * A create-only write (`WriteOptions.ifAbsent`) that finds its target already there. Every provider
 * throws this one error for it, so an export with overwrite "never" can count exactly this case as
 * skipped: other conflicts of a write (a file where a folder of the path should be, a folder or a
 * shortcut at the path) mean nothing was written and nothing is there to keep, and fail the file.
 */
export class ObjectExistsError extends CloudportError {
  constructor(what: string) {
    super('conflict', `${what} already exists`, { temporary: false });
  }
}

export const isObjectExists = (e: unknown): e is ObjectExistsError => e instanceof ObjectExistsError;

/** `field` names the input that held the id (connector_id, job_id, index, key, automation_id, retry_of…): every not_found says which. */
export const notFound = (what: string, id: string, field: string, fix?: string) => {
  // An id of another kind (a job id given as connector_id): its prefix says which, and which tool takes it.
  // Said from the id's text alone, so it tells nothing of what exists.
  const other = /^(conn|imp|exp|rdx|auto)_[0-9a-z]{20,}$/.exec(id)?.[1] as keyof typeof ID_KINDS | undefined;
  const kind = other ? ID_KINDS[other] : undefined;
  if (kind && kind.what !== what && !(what === 'job' && kind.what.endsWith('job'))) {
    return new CloudportError('not_found', `${what} ${JSON.stringify(id)} not found: that is ${kind.a} id, not ${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what} id`, { field, fix: kind.use });
  }
  return new CloudportError('not_found', `${what} ${JSON.stringify(id)} not found`, { field, fix });
};

/** What an id's prefix names, and the tools that take it. */
const ID_KINDS = {
  conn: { what: 'connector', a: 'a connector', use: 'Connector ids go in connector_id (get_connector, start_import, browse_connector …).' },
  imp: { what: 'import job', a: 'an import job', use: 'Job ids go in job_id (import_status, import_logs, cancel_import) or retry_of.' },
  exp: { what: 'export job', a: 'an export job', use: 'Job ids go in job_id (import_status, import_logs, cancel_import).' },
  rdx: { what: 'reindex job', a: 'a reindex job', use: 'Job ids go in job_id (import_status, import_logs, cancel_import).' },
  auto: { what: 'automation', a: 'an automation', use: 'Automation ids go in automation_id (update_automation, run_automation_now, delete_automation, list_imports {automation_id} for its runs).' },
} as const;

/** The fix of a throttled request: no tool takes a concurrency, the server's settings hold it. */
export const THROTTLED_FIX = 'Retry the call in a minute (imports and exports retry by themselves). If it persists, start the server with a lower --connector-concurrency (CLOUDPORT_CONNECTOR_CONCURRENCY), so one connector reads fewer files at once.';

/** Error codes that say the endpoint cannot be reached at all (no connection was made), not that a transfer broke. */
export const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * An endpoint that cannot be reached: a setting to check (config_invalid, on the field that set the URL)
 * that may also pass later without a change (the server is down or starting), hence temporary.
 */
export function unreachable(endpoint: string | null | undefined, code: string | undefined, field: string | undefined, fix: string): CloudportError {
  return new CloudportError('config_invalid', `cannot reach the storage endpoint${endpoint ? ` ${endpoint}` : ''}${code ? ` (${code})` : ''}`, { field, temporary: true, fix });
}

/** True for the error `unreachable` makes. */
export const isUnreachable = (e: CloudportError) => e.kind === 'config_invalid' && e.temporary;

export const invalid = (field: string, message: string, fix?: string) =>
  new CloudportError('config_invalid', message, { field, fix });

export function isCloudportError(e: unknown): e is CloudportError {
  return e instanceof CloudportError;
}

/** Any thrown value as a CloudportError; unknown errors become `unexpected` without leaking internals. */
export function asCloudportError(e: unknown): CloudportError {
  if (e instanceof CloudportError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new CloudportError('unexpected', message || 'unexpected error', { cause: e });
}

const POLICY_REFUSAL = /(\S+: .* refused by the endpoint policy[^\n]*)/;

/**
 * A CloudportError that an SDK wrapped on its way out (as `cause`, or only as text inside its own
 * message, as node-fetch does): our own refusals (the endpoint policy) must surface as themselves.
 */
export function unwrapCloudportError(e: unknown): CloudportError | null {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (cur instanceof CloudportError) return cur;
  }
  const m = e instanceof Error ? POLICY_REFUSAL.exec(e.message) : null;
  if (m) {
    return new CloudportError('permission_denied', m[1]!, {
      field: 'endpoint',
      fix: 'Use a public endpoint; the operator can allow private ones with --allow-private-endpoints or --allow-endpoint-cidr CIDR.',
    });
  }
  return null;
}

/** Seconds from a Retry-After header: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: unknown): number | undefined {
  if (typeof value !== 'string' || !value.trim()) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** One header of a response whose headers are a Headers object or a plain record. */
export const headerValue = (headers: unknown, name: string): string | undefined => {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?: (n: string) => string | null } & Record<string, unknown>;
  if (typeof h.get === 'function') return h.get(name) ?? undefined;
  const v = h[name] ?? h[name.toLowerCase()];
  return Array.isArray(v) ? String(v[0]) : typeof v === 'string' ? v : undefined;
};
