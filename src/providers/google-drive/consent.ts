import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { CloudportError } from '../../shared/errors.js';
import { DRIVE_SCOPES, GOOGLE_TOKEN_URI, postForm } from './auth.js';

export const GOOGLE_AUTH_URI = 'https://accounts.google.com/o/oauth2/v2/auth';

export interface ConsentOptions {
  clientId: string;
  clientSecret: string;
  /** Ask for the full drive scope (export connectors) instead of drive.readonly. */
  write: boolean;
  authUri?: string;
  tokenUri?: string;
  /** Called with the consent URL once the loopback listener is up (the CLI prints it). */
  onUrl: (url: string) => void;
  timeoutMs?: number;
}

/**
 * The OAuth "installed app" flow for a user's Drive: a listener on 127.0.0.1 receives Google's
 * redirect with the code (PKCE S256 and a random state guard it), which is exchanged for a refresh
 * token. Nothing is stored: the caller prints the token for an {env} or {file} reference.
 */
export async function consent(o: ConsentOptions): Promise<{ refreshToken: string; scope: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const scope = o.write ? DRIVE_SCOPES.write : DRIVE_SCOPES.read;
  let finish!: (v: { code: string } | Error) => void;
  const arrived = new Promise<{ code: string } | Error>((resolve) => (finish = resolve));
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (u.pathname !== '/') {
      res.writeHead(404).end();
      return;
    }
    const page = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(text);
    };
    if (u.searchParams.get('state') !== state) return page(400, 'This answer does not belong to the cloudport sign-in that is waiting. Close this tab.');
    const error = u.searchParams.get('error');
    if (error) {
      page(400, `Google answered: ${error}. You can close this tab.`);
      return finish(new CloudportError('permission_denied', `the consent was not given (${error.slice(0, 100)})`, { fix: 'Run the command again and choose Allow; the OAuth client must list you as a test user while it is in testing.' }));
    }
    const code = u.searchParams.get('code');
    if (!code) return page(400, 'No code in the answer.');
    page(200, 'cloudport has the consent. You can close this tab and go back to the terminal.');
    finish({ code });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const timer = setTimeout(() => finish(new CloudportError('unexpected', 'no consent arrived in time', { temporary: true, fix: 'Run the command again and open the URL it prints within 5 minutes.' })), o.timeoutMs ?? 5 * 60_000);
  try {
    const url = new URL(o.authUri ?? GOOGLE_AUTH_URI);
    const params = {
      client_id: o.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope,
      // offline + consent: Google returns a refresh token even when the user consented before.
      access_type: 'offline',
      prompt: 'consent',
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    o.onUrl(url.href);
    const got = await arrived;
    if (got instanceof Error) throw got;
    const r = await postForm(o.tokenUri ?? GOOGLE_TOKEN_URI, { grant_type: 'authorization_code', code: got.code, client_id: o.clientId, client_secret: o.clientSecret, redirect_uri: redirectUri, code_verifier: verifier }, undefined);
    const refreshToken = r.body.refresh_token;
    if (r.status !== 200 || typeof refreshToken !== 'string') {
      const said = typeof r.body.error === 'string' ? r.body.error : `HTTP ${r.status}`;
      throw new CloudportError('permission_denied', `Google refused the code (${said})`, {
        field: said === 'invalid_client' ? '--client-secret' : undefined,
        fix: 'Check --client-id and --client-secret (an OAuth client of type "Desktop app" in Google Cloud console → APIs & Services → Credentials), then run the command again.',
      });
    }
    return { refreshToken, scope: typeof r.body.scope === 'string' ? r.body.scope : scope };
  } finally {
    clearTimeout(timer);
    server.close();
    server.closeAllConnections();
  }
}
