import { CloudportError } from '../../shared/errors.js';
import { getProvider } from '../../providers/index.js';
import type { ConsentOptions } from '../../providers/google-drive/consent.js';

export type { ConsentOptions };

/** Runs a provider's user-consent flow (OAuth) and answers the refresh token to reference in its credentials. */
export async function runConsent(provider: string, o: ConsentOptions): Promise<{ refreshToken: string; scope: string }> {
  const def = getProvider(provider);
  if (!def.consent) throw new CloudportError('unsupported', `provider ${provider} has no consent flow`, { fix: 'Providers with one: google_drive.' });
  return def.consent(o);
}
