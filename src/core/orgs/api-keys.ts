import { createHash, randomBytes } from 'node:crypto';
import { CloudportError, invalid } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { Store } from '../../store/types.js';

/**
 * API keys for the HTTP front door. A key belongs to one organization and is stored only as its
 * SHA-256 (keys are 256 random bits, so a fast hash is enough); the key itself is shown once.
 */
export interface Principal {
  keyId: string;
  orgId: string;
  orgName: string;
  readOnly: boolean;
}

const ORG_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export class KeyService {
  constructor(private readonly store: Store) {}

  /** A key for the organization, which is created first when no organization has that name (`new_org`). */
  async create(orgName: string, opts: { readOnly?: boolean; name?: string } = {}): Promise<{ id: string; key: string; org: string; read_only: boolean; new_org: boolean }> {
    if (!ORG_NAME.test(orgName)) throw invalid('--org', `organization name ${JSON.stringify(orgName)} is not valid`, '1-100 characters: letters, digits, ".", "_", "-".');
    // keys list prints one line per key: a name is a label, on one line, with no control characters.
    if (opts.name !== undefined && !/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]{0,100}$/u.test(opts.name)) {
      throw invalid('--name', 'a key name is at most 100 characters, with no tabs, line breaks or other control characters', 'Give a short label on one line, e.g. --name "ci bot".');
    }
    const now = new Date().toISOString();
    const orgId = newId('org');
    const org = await this.store.ensureOrg(orgName, orgId, now);
    const key = `cpk_${randomBytes(32).toString('base64url')}`;
    const id = newId('key');
    await this.store.insertApiKey({
      id,
      org_id: org.id,
      name: opts.name ?? '',
      hash: hashKey(key),
      prefix: key.slice(0, 10),
      read_only: opts.readOnly ? 1 : 0,
      created_at: now,
      revoked_at: null,
    });
    return { id, key, org: org.name, read_only: !!opts.readOnly, new_org: org.id === orgId };
  }

  /** The principal behind a bearer key, or null for an unknown or revoked key. */
  async authenticate(key: string): Promise<Principal | null> {
    if (!key.startsWith('cpk_') || key.length > 200) return null;
    const row = await this.store.findApiKey(hashKey(key));
    if (!row || row.revoked_at) return null;
    return { keyId: row.id, orgId: row.org_id, orgName: row.org_name, readOnly: row.read_only === 1 };
  }

  /** Which of these keys are revoked (or gone) now: a front door ends their sessions and calls in flight. */
  async revokedAmong(ids: string[]): Promise<string[]> {
    if (!ids.length) return [];
    const active = new Set(await this.store.activeApiKeyIds(ids));
    return ids.filter((id) => !active.has(id));
  }

  async list() {
    return (await this.store.listApiKeys()).map((k) => ({
      id: k.id,
      org: k.org_name,
      name: k.name,
      prefix: k.prefix,
      read_only: k.read_only === 1,
      created_at: k.created_at,
      revoked_at: k.revoked_at,
    }));
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.store.revokeApiKey(id, new Date().toISOString()))) throw new CloudportError('not_found', `no active key ${JSON.stringify(id)}`, { field: 'id', fix: 'cloudport keys list shows the keys.' });
  }
}
