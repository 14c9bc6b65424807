import { describe, expect, it } from 'vitest';
import { PROVIDER_NAMES, getProvider, registeredProviders } from '../../src/providers/index.js';

describe('providers on this Node version', () => {
  it('every provider (and its SDK) loads and opens a client on Node 20+', async () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(20);
    expect(registeredProviders().map((p) => p.name).sort()).toEqual([...PROVIDER_NAMES].sort());
    const inputs: Record<string, [Record<string, unknown>, Record<string, unknown>]> = {
      s3: [{ bucket: 'b-1', endpoint: 'http://127.0.0.1:1' }, { type: 'access_key', access_key_id: 'a', secret_access_key: 'b' }],
      gcs: [{ bucket: 'b-1', endpoint: 'http://127.0.0.1:1' }, { type: 'service_account', json: JSON.stringify({ type: 'service_account', client_email: 'a@b', private_key: 'k' }) }],
      azure_blob: [{ container: 'b-1', endpoint: 'http://127.0.0.1:1/acct' }, { type: 'account_key', account_key: Buffer.from('k').toString('base64') }],
      google_drive: [{ root_folder_id: 'folder-1', endpoint: 'http://127.0.0.1:1' }, { type: 'oauth', client_id: 'c', client_secret: 's', refresh_token: 'r' }],
    };
    for (const name of PROVIDER_NAMES) {
      const def = getProvider(name);
      const [loc, creds] = inputs[name]!;
      const p = await def.open(def.validateLocation(loc), creds as never, { maxSockets: 1, connectTimeoutMs: 100 });
      expect(p.capabilities.rangedRead).toBe(true);
      p.close();
    }
  });
});
