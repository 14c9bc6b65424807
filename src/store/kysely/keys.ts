import { type Insertable } from 'kysely';
import type { DB } from '../schema.js';
import { all, one, run, type Tx } from '../ops.js';
import type { ApiKeyRow, StoreKeys } from '../types.js';
import type { Part } from './base.js';

/** Organizations and their API keys (stored as hashes). */
export function withKeys<B extends Part>(Base: B) {
  abstract class KeysPart extends Base implements StoreKeys {
    async ensureOrg(name: string, id: string, now: string): Promise<{ id: string; name: string }> {
      return this.exec('tx', () => this.ensureOrgTx(name, id, now));
    }

    private *ensureOrgTx(name: string, id: string, now: string): Tx<{ id: string; name: string }> {
      yield* run(this.qb.insertInto('orgs').values({ id, name, created_at: now }).onConflict((oc) => oc.column('name').doNothing()));
      return (yield* one(this.qb.selectFrom('orgs').select(['id', 'name']).where('name', '=', name)))!;
    }

    async insertApiKey(row: Insertable<DB['api_keys']>): Promise<void> {
      await this.exec('auto', () => run(this.qb.insertInto('api_keys').values(row)));
    }

    private keysQuery() {
      return this.qb.selectFrom('api_keys as k').innerJoin('orgs as o', 'o.id', 'k.org_id').selectAll('k').select('o.name as org_name');
    }

    async findApiKey(hash: string): Promise<ApiKeyRow | null> {
      return this.exec('auto', () => one(this.keysQuery().where('k.hash', '=', hash)));
    }

    async listApiKeys(): Promise<ApiKeyRow[]> {
      return this.exec('auto', () => all(this.keysQuery().orderBy('k.created_at')));
    }

    async activeApiKeyIds(ids: string[]): Promise<string[]> {
      if (!ids.length) return [];
      return (await this.exec('auto', () => all(this.qb.selectFrom('api_keys').select('id').where('id', 'in', ids).where('revoked_at', 'is', null)))).map((r) => r.id);
    }

    async revokeApiKey(id: string, now: string): Promise<boolean> {
      return (await this.exec('auto', () => run(this.qb.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null)))) > 0;
    }
  }
  return KeysPart;
}
