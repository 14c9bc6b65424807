/**
 * Whether a URL may carry a secret (a bearer token, an OAuth client secret, a code): https anywhere,
 * plain http only to a loopback address (an emulator or a test server on this machine). Not a URL: no.
 */
export function carriesSecrets(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === 'https:' || (u.protocol === 'http:' && /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/.test(u.hostname));
}
