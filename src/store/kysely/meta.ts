import { one, run, type Tx } from '../ops.js';
import type { StoreMeta } from '../types.js';
import type { Part } from './base.js';

/** Meta rows: small settings every process of the store shares (the master key check, the store's policy, a store-health warning). */
export function withMeta<B extends Part>(Base: B) {
  abstract class MetaPart extends Base implements StoreMeta {
    async getMeta(key: string): Promise<string | null> {
      return (await this.exec('auto', () => one(this.qb.selectFrom('meta').select('value').where('key', '=', key))))?.value ?? null;
    }

    async setMeta(key: string, value: string): Promise<void> {
      await this.exec('auto', () => run(this.qb.insertInto('meta').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value }))));
    }

    async deleteMeta(key: string): Promise<void> {
      await this.exec('auto', () => run(this.qb.deleteFrom('meta').where('key', '=', key)));
    }

    async setMetaOnce(key: string, value: string): Promise<string> {
      return this.exec('tx', () => this.setMetaOnceTx(key, value));
    }

    private *setMetaOnceTx(key: string, value: string): Tx<string> {
      yield* run(this.qb.insertInto('meta').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()));
      return (yield* one(this.qb.selectFrom('meta').select('value').where('key', '=', key)))!.value;
    }
  }
  return MetaPart;
}
