import { sign } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { CloudportError } from '../../shared/errors.js';
import { GOOGLE_TOKEN_URI } from '../google-service-account.js';

export { GOOGLE_TOKEN_URI };

/**
 * Access tokens for Google Drive from a service account key or a user's refresh token, posted to the
 * key's own `token_uri` (or the one given) through the provider's agents, so the endpoint policy of the
 * HTTP front door applies to the token exchange too. google-auth-library's JWT client posts to Google's
 * fixed URL (gtoken), which would leave `token_uri` unhonoured and the policy unchecked.
 */

export const DRIVE_SCOPES = {
  read: 'https://www.googleapis.com/auth/drive.readonly',
  write: 'https://www.googleapis.com/auth/drive',
} as const;

export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
}

export interface TokenSource {
  /** A valid access token (cached until a minute before it expires). */
  token(signal?: AbortSignal): Promise<string>;
  /** Forgets the cached token (after a 401). */
  reset(): void;
  /** Milliseconds since the cached token was issued (Infinity when none is cached). */
  age(): number;
}

type Agents = { http: http.Agent; https: https.Agent };

/** Lifetime asked for a JWT assertion (Google's maximum). */
const ASSERTION_S = 3600;
/** A token is renewed this long before it expires. */
const EARLY_MS = 60_000;
const TIMEOUT_MS = 30_000;

const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

/** The RS256 JWT-bearer assertion for a service account (RFC 7523), with `sub` for domain-wide delegation. */
export function assertion(key: ServiceAccountKey, scopes: readonly string[], tokenUri: string, subject: string | undefined, now = Date.now()): string {
  const iat = Math.floor(now / 1000);
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) }));
  const claims = b64url(JSON.stringify({ iss: key.client_email, scope: scopes.join(' '), aud: tokenUri, iat, exp: iat + ASSERTION_S, ...(subject ? { sub: subject } : {}) }));
  let signature: Buffer;
  try {
    signature = sign('RSA-SHA256', Buffer.from(`${header}.${claims}`), key.private_key);
  } catch {
    throw new CloudportError('config_invalid', 'the private_key of the service account key cannot sign', { field: 'credentials.json', fix: 'Give the whole key file as downloaded from the Google Cloud console (IAM → Service accounts → Keys).' });
  }
  return `${header}.${claims}.${b64url(signature)}`;
}

/** POSTs a form to a token endpoint and answers its JSON, through the given agents. */
export async function postForm(url: string, form: Record<string, string>, agents: Agents | undefined, signal?: AbortSignal): Promise<{ status: number; body: Record<string, unknown> }> {
  const u = new URL(url);
  const data = new URLSearchParams(form).toString();
  const lib = u.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(data), accept: 'application/json' },
        ...(agents ? { agent: u.protocol === 'http:' ? agents.http : agents.https } : {}),
        timeout: TIMEOUT_MS,
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > 64 * 1024) req.destroy(new Error('the token endpoint answered more than 64 KiB'));
          else chunks.push(c);
        });
        res.on('end', () => {
          let body: Record<string, unknown> = {};
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            // A non-JSON answer (a proxy's error page): the status says enough.
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from the token endpoint within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** Posts to a token endpoint; a network failure names that endpoint (not the storage API's). */
async function postToken(url: string, form: Record<string, string>, agents: Agents | undefined, field: string, signal?: AbortSignal): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    return await postForm(url, form, agents, signal);
  } catch (e) {
    if (e instanceof CloudportError || signal?.aborted) throw e;
    const code = (e as { code?: string }).code;
    // A setting to check that may also pass later (config_invalid and temporary, as for every endpoint).
    return Promise.reject(
      new CloudportError('config_invalid', `cannot reach the token endpoint ${url}${code && /^[A-Z_]+$/.test(code) ? ` (${code})` : ''}`, {
        field,
        temporary: true,
        fix: field.endsWith('.json') || field.includes('token_uri') ? "Check the key's token_uri and network access to it, then retry." : 'Check network access to the token endpoint, then retry.',
      }),
    );
  }
}

/** A token endpoint's refusal as a cloudport error naming the credentials field and the fix. */
function tokenError(status: number, body: Record<string, unknown>, what: 'service_account' | 'oauth', subject?: string): CloudportError {
  const code = String(body.error ?? `HTTP ${status}`);
  const said = String(body.error_description ?? '').slice(0, 300);
  if (status === 429 || status >= 500) {
    return new CloudportError(status === 429 ? 'rate_limited' : 'unexpected', `the token endpoint answered ${status}${said ? `: ${said}` : ''}`, {
      temporary: true,
      fix: status === 429 ? 'Google is throttling token requests: retry in a minute; nothing is wrong with the credentials.' : 'A fault of Google\'s token service, usually passing: retry in a minute.',
    });
  }
  if (what === 'service_account' && code === 'unauthorized_client' && subject) {
    return new CloudportError('permission_denied', `the service account may not act as ${subject} (${said || code})`, {
      field: 'credentials.subject',
      fix: 'Grant domain-wide delegation: in the Google Workspace Admin console (Security → API controls → Domain-wide delegation) add the service account\'s client id with the Drive scope, or drop subject.',
    });
  }
  if (what === 'oauth') {
    return new CloudportError('permission_denied', `Google refused the refresh token (${code}${said ? `: ${said}` : ''})`, {
      field: code === 'invalid_client' ? 'credentials.client_secret' : 'credentials.refresh_token',
      fix: 'Run `cloudport auth google-drive --client-id … --client-secret …` again for a new refresh token (tokens are revoked when the user removes access or the OAuth client is deleted).',
    });
  }
  return new CloudportError('permission_denied', `Google refused to issue a token for the service account (${code}${said ? `: ${said}` : ''})`, {
    field: 'credentials.json',
    fix: 'Check that the key is current (IAM → Service accounts → Keys) and that the account is enabled.',
  });
}

class CachedToken implements TokenSource {
  private cached: { token: string; until: number; at: number } | null = null;
  private pending: Promise<string> | null = null;

  constructor(private readonly fetchToken: (signal?: AbortSignal) => Promise<{ token: string; expiresIn: number }>) {}

  token(signal?: AbortSignal): Promise<string> {
    if (this.cached && this.cached.until > Date.now()) return Promise.resolve(this.cached.token);
    // One exchange at a time: concurrent downloads share it.
    this.pending ??= this.fetchToken(signal)
      .then(({ token, expiresIn }) => {
        this.cached = { token, until: Date.now() + Math.max(0, expiresIn * 1000 - EARLY_MS), at: Date.now() };
        return token;
      })
      .finally(() => (this.pending = null));
    return this.pending;
  }

  reset(): void {
    this.cached = null;
  }

  age(): number {
    return this.cached ? Date.now() - this.cached.at : Infinity;
  }
}

function accessToken(status: number, body: Record<string, unknown>): { token: string; expiresIn: number } | null {
  if (status !== 200 || typeof body.access_token !== 'string') return null;
  return { token: body.access_token, expiresIn: typeof body.expires_in === 'number' ? body.expires_in : 3600 };
}

/** Tokens of a service account (optionally impersonating `subject`), from the key's token_uri. */
export function serviceAccountTokens(key: ServiceAccountKey, scopes: readonly string[], opts: { subject?: string; agents?: Agents; holdSecrets?: (...v: string[]) => void } = {}): TokenSource {
  const tokenUri = key.token_uri ?? GOOGLE_TOKEN_URI;
  return new CachedToken(async (signal) => {
    const form = { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: assertion(key, scopes, tokenUri, opts.subject) };
    const r = await postToken(tokenUri, form, opts.agents, 'credentials.json', signal);
    const t = accessToken(r.status, r.body);
    if (!t) throw tokenError(r.status, r.body, 'service_account', opts.subject);
    opts.holdSecrets?.(t.token);
    return t;
  });
}

/** Tokens of a user's consent (an OAuth client and its refresh token). */
export function refreshTokens(c: { client_id: string; client_secret: string; refresh_token: string; token_uri?: string }, opts: { agents?: Agents; holdSecrets?: (...v: string[]) => void } = {}): TokenSource {
  return new CachedToken(async (signal) => {
    const form = { grant_type: 'refresh_token', client_id: c.client_id, client_secret: c.client_secret, refresh_token: c.refresh_token };
    const r = await postToken(c.token_uri ?? GOOGLE_TOKEN_URI, form, opts.agents, 'credentials.refresh_token', signal);
    const t = accessToken(r.status, r.body);
    if (!t) throw tokenError(r.status, r.body, 'oauth');
    opts.holdSecrets?.(t.token);
    return t;
  });
}
