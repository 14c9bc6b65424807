import { sql } from 'kysely';
import { all, one, run, type Tx } from '../ops.js';
import type { AutomationRow, NewAutomation, StoreAutomations } from '../types.js';
import { ACTIVE_JOB, deleteJobs, type Part } from './base.js';

/** Automations (schedules that start imports) and the trail their runs leave. */
export function withAutomations<B extends Part>(Base: B) {
  abstract class AutomationsPart extends Base implements StoreAutomations {
    async insertAutomation(row: NewAutomation): Promise<void> {
      await this.exec('auto', () => run(this.qb.insertInto('automations').values(row)));
    }

    async getAutomation(org: string, id: string): Promise<AutomationRow | null> {
      return this.exec('auto', () => one(this.qb.selectFrom('automations').selectAll().where('org_id', '=', org).where('id', '=', id)));
    }

    async findAutomationByName(org: string, name: string): Promise<AutomationRow | null> {
      return this.exec('auto', () => one(this.qb.selectFrom('automations').selectAll().where('org_id', '=', org).where('name', '=', name)));
    }

    async listAutomations(org: string, opts: { connectorId?: string; after?: string; limit: number }): Promise<AutomationRow[]> {
      let q = this.qb.selectFrom('automations').selectAll().where('org_id', '=', org);
      if (opts.connectorId) q = q.where('connector_id', '=', opts.connectorId);
      if (opts.after) q = q.where('id', '>', opts.after);
      return this.exec('auto', () => all(q.orderBy('id').limit(opts.limit)));
    }

    async updateAutomation(org: string, id: string, patch: Partial<NewAutomation>): Promise<AutomationRow | null> {
      return this.exec('tx', () => this.updateAutomationTx(org, id, patch));
    }

    private *updateAutomationTx(org: string, id: string, patch: Partial<NewAutomation>): Tx<AutomationRow | null> {
      yield* run(this.qb.updateTable('automations').set(patch).where('org_id', '=', org).where('id', '=', id));
      return yield* one(this.qb.selectFrom('automations').selectAll().where('org_id', '=', org).where('id', '=', id));
    }

    async deleteAutomation(org: string, id: string): Promise<boolean> {
      return (await this.exec('auto', () => run(this.qb.deleteFrom('automations').where('org_id', '=', org).where('id', '=', id)))) > 0;
    }

    async deleteConnectorAutomations(org: string, connectorId: string): Promise<number> {
      return this.exec('auto', () => run(this.qb.deleteFrom('automations').where('org_id', '=', org).where('connector_id', '=', connectorId)));
    }

    async nextAutomationRun(kinds?: readonly string[]): Promise<number | null> {
      let q = this.qb.selectFrom('automations').select((eb) => eb.fn.min<number>('next_run_at').as('t')).where('enabled', '=', 1);
      if (kinds) q = q.where('kind', 'in', [...kinds]);
      const r = await this.exec('auto', () => one(q));
      return r?.t === null || r?.t === undefined ? null : Number(r.t);
    }

    async dueAutomations(now: number, limit: number, kinds?: readonly string[]): Promise<AutomationRow[]> {
      let q = this.qb.selectFrom('automations').selectAll().where('enabled', '=', 1).where('next_run_at', '<=', now);
      if (kinds) q = q.where('kind', 'in', [...kinds]);
      return this.exec('auto', () => all(q.orderBy('next_run_at').limit(limit)));
    }

    /** One UPDATE … WHERE next_run_at = expected: on PostgreSQL a concurrent second UPDATE re-checks the row after the first commits, so exactly one wins. */
    async casAutomation(id: string, expected: number, patch: Partial<NewAutomation>): Promise<boolean> {
      return (await this.exec('auto', () => run(this.qb.updateTable('automations').set(patch).where('id', '=', id).where('next_run_at', '=', expected)))) > 0;
    }

    async pruneIdleAutomationRuns(org: string, automationId: string, keepJobId: string): Promise<number> {
      return this.exec('tx', () => this.pruneIdleAutomationRunsTx(org, automationId, keepJobId));
    }

    private *pruneIdleAutomationRunsTx(org: string, automationId: string, keepJobId: string): Tx<number> {
      const ids = (
        yield* all(
          this.qb
            .selectFrom('jobs')
            .select('id')
            .where('org_id', '=', org)
            .where('automation_id', '=', automationId)
            .where('status', '=', 'completed')
            .where('id', '!=', keepJobId)
            .where(({ not, exists, selectFrom }) =>
              not(exists(selectFrom('job_files').select(sql`1`.as('x')).whereRef('job_files.job_id', '=', 'jobs.id').where('job_files.status', '!=', 'skipped'))),
            )
            .limit(1000),
        )
      ).map((r) => r.id);
      yield* deleteJobs(this.qb, ids);
      return ids.length;
    }

    async compactAutomationRuns(org: string, automationId: string, keepJobId: string): Promise<number> {
      return this.exec('tx', () => this.compactAutomationRunsTx(org, automationId, keepJobId));
    }

    private *compactAutomationRunsTx(org: string, automationId: string, keepJobId: string): Tx<number> {
      const jobs = yield* all(
        this.qb
          .selectFrom('jobs')
          .select(['id', 'listing_state'])
          .where('org_id', '=', org)
          .where('automation_id', '=', automationId)
          .where('status', 'not in', ACTIVE_JOB)
          .where('id', '!=', keepJobId)
          .where(({ exists, selectFrom }) => exists(selectFrom('job_files').select(sql`1`.as('x')).whereRef('job_files.job_id', '=', 'jobs.id').where('job_files.status', '=', 'skipped')))
          .limit(50),
      );
      for (const j of jobs) {
        const n = yield* run(this.qb.deleteFrom('job_files').where('job_id', '=', j.id).where('status', '=', 'skipped'));
        let state: Record<string, unknown> = {};
        try {
          state = (JSON.parse(j.listing_state ?? '{}') as Record<string, unknown>) ?? {};
        } catch {
          state = {};
        }
        yield* run(this.qb.updateTable('jobs').set({ listing_state: JSON.stringify({ ...state, compacted: Number(state.compacted ?? 0) + n }) }).where('id', '=', j.id));
      }
      return jobs.length;
    }
  }
  return AutomationsPart;
}
