import { generateKeyPairSync } from 'node:crypto';

/**
 * A service account the loopback Drive server knows (its public key registered), as the JSON key
 * file create_connector takes: its token_uri is the server's own.
 */
export function driveServiceAccount(drive: { addServiceAccount(a: { email: string; publicKey: string | Buffer }): void; tokenUrl: string }, email: string): string {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  drive.addServiceAccount({ email, publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }) });
  return JSON.stringify({ type: 'service_account', client_email: email, private_key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), token_uri: drive.tokenUrl });
}
