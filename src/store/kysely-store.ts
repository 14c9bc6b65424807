import { StoreBase } from './kysely/base.js';
import { withAutomations } from './kysely/automations.js';
import { withBlobRefs } from './kysely/blob-refs.js';
import { withConnectors } from './kysely/connectors.js';
import { withItems } from './kysely/items.js';
import { withJobs } from './kysely/jobs.js';
import { withKeys } from './kysely/keys.js';
import { withMeta } from './kysely/meta.js';
import { withQueue } from './kysely/queue.js';
import { withTexts } from './kysely/texts.js';
import type { Store } from './types.js';

export { ACTIVE_JOB } from './kysely/base.js';
export { DEFAULT_BACKOFF_MS, DEFAULT_MAX_ATTEMPTS, LEASE_LAPSED } from './kysely/queue.js';

/**
 * Every Store method, written once for SQLite and PostgreSQL, one concern per file under kysely/
 * (each a mixin on StoreBase, implementing its part of the contract in types.ts). A subclass per
 * dialect (sqlite.ts, postgres.ts) supplies the query builder and runs the methods' ops.
 */
export abstract class KyselyStore
  extends withTexts(withAutomations(withKeys(withBlobRefs(withItems(withJobs(withQueue(withConnectors(withMeta(StoreBase)))))))))
  implements Store {}
