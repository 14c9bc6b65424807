import { one, run, type Tx } from '../ops.js';
import type { StoreMeta } from '../types.js';
import type { Part } from './base.js';
import { statement } from './statements.js';

/** One meta row: compiled once, since a stdio server that runs work reads the policy row before each claim (app.ts). */
const GET_META = statement({
  name: 'meta.get',
  arity: 1,
  build: (qb, _pg, [key]) => qb.selectFrom('meta').select('value').where('key', '=', key),
  params: (key: string) => [key],
});

/** Meta rows: small settings every process of the store shares (the master key check, the store's policy, a store-health warning). */
export function withMeta<B extends Part>(Base: B) {
  abstract class MetaPart extends Base implements StoreMeta {
    async getMeta(key: string): Promise<string | null> {
      return (await this.exec('auto', () => one(this.prepared(GET_META, key))))?.value ?? null;
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
