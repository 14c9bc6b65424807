import { sql } from 'kysely';
import { all, one, run, type Tx } from '../ops.js';
import type { ConnectorRow, HealthOutcome, NewConnector, Page, StoreConnectors } from '../types.js';
import type { Part } from './base.js';

/** Connectors, their deletion (with what hangs off them) and their health counts. */
export function withConnectors<B extends Part>(Base: B) {
  abstract class ConnectorsPart extends Base implements StoreConnectors {
    async countConnectors(): Promise<number> {
      const r = await this.exec('auto', () => one(this.qb.selectFrom('connectors').select((eb) => eb.fn.countAll<number>().as('n'))));
      return Number(r?.n ?? 0);
    }

    async connectorProviders(): Promise<string[]> {
      const rows = await this.exec('auto', () => all(this.qb.selectFrom('connectors').select('provider').distinct().where('status', '<>', 'ARCHIVED')));
      return rows.map((r) => r.provider);
    }

    async insertConnector(row: NewConnector): Promise<void> {
      await this.exec('auto', () => run(this.qb.insertInto('connectors').values(row)));
    }

    async getConnector(org: string, id: string): Promise<ConnectorRow | null> {
      return this.exec('auto', () => one(this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org).where('id', '=', id)));
    }

    async findConnectorByName(org: string, name: string): Promise<ConnectorRow | null> {
      return this.exec('auto', () => one(this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org).where('name', '=', name)));
    }

    async listConnectors(org: string, opts: { status?: string; after?: string; limit: number }): Promise<Page<ConnectorRow>> {
      let q = this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org);
      if (opts.status) q = q.where('status', '=', opts.status);
      if (opts.after) q = q.where('id', '>', opts.after);
      const rows = await this.exec('auto', () => all(q.orderBy('id').limit(opts.limit + 1)));
      const more = rows.length > opts.limit;
      if (more) rows.pop();
      return { rows, next: more ? rows[rows.length - 1]!.id : null };
    }

    async updateConnector(org: string, id: string, patch: Partial<NewConnector>): Promise<ConnectorRow | null> {
      return this.exec('tx', () => this.updateConnectorTx(org, id, patch));
    }

    private *updateConnectorTx(org: string, id: string, patch: Partial<NewConnector>): Tx<ConnectorRow | null> {
      yield* run(this.qb.updateTable('connectors').set(patch).where('org_id', '=', org).where('id', '=', id));
      return yield* one(this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org).where('id', '=', id));
    }

    async deleteConnector(org: string, id: string): Promise<boolean> {
      return this.exec('tx', () => this.deleteConnectorTx(org, id));
    }

    /** One transaction: a crash can never leave a deleted connector's automations or seen versions behind. */
    private *deleteConnectorTx(org: string, id: string): Tx<boolean> {
      const n = yield* run(this.qb.deleteFrom('connectors').where('org_id', '=', org).where('id', '=', id));
      yield* run(this.qb.deleteFrom('import_seen').where('org_id', '=', org).where('connector_id', '=', id));
      yield* run(this.qb.deleteFrom('automations').where('org_id', '=', org).where('connector_id', '=', id));
      return n > 0;
    }

    async sweepOrphans(): Promise<number> {
      return this.exec('tx', () => this.sweepOrphansTx());
    }

    private *sweepOrphansTx(): Tx<number> {
      let n = 0;
      for (const table of ['automations', 'import_seen'] as const) {
        n += yield* run(
          this.qb
            .deleteFrom(table)
            .where(({ not, exists, selectFrom }) =>
              not(exists(selectFrom('connectors as c').select(sql`1`.as('x')).whereRef('c.org_id', '=', `${table}.org_id`).whereRef('c.id', '=', `${table}.connector_id`))),
            ),
        );
      }
      return n;
    }

    async recordHealth(org: string, id: string, o: HealthOutcome): Promise<ConnectorRow | null> {
      return this.exec('tx', () => this.recordHealthTx(org, id, o));
    }

    private *recordHealthTx(org: string, id: string, o: HealthOutcome): Tx<ConnectorRow | null> {
      let q = this.qb.selectFrom('connectors').selectAll().where('org_id', '=', org).where('id', '=', id);
      if (this.pg) q = q.forUpdate(); // concurrent outcomes must not lose a count
      const c = yield* one(q);
      if (!c) return null;
      const patch: Partial<NewConnector> = { updated_at: o.now };
      if (o.ok) {
        patch.consecutive_failures = 0;
        patch.last_error = null;
        if (o.synced) patch.last_sync_at = o.now;
        if (c.status === 'FAILED') patch.status = 'ACTIVE';
      } else {
        const n = c.consecutive_failures + 1;
        patch.consecutive_failures = n;
        patch.last_error = (o.error ?? 'failed').slice(0, 1000);
        if (n >= o.failAfter && c.status === 'ACTIVE') patch.status = 'FAILED';
      }
      yield* run(this.qb.updateTable('connectors').set(patch).where('id', '=', id));
      return { ...c, ...patch } as ConnectorRow;
    }
  }
  return ConnectorsPart;
}
