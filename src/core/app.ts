import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { CloudportError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { describeStore, openStore } from '../store/index.js';
import { openBlobStore, type BlobStore, type BlobStoreSpec } from '../store/blobs.js';
import { MARKER_NAME } from '../store/blob-store.js';
import type { Store } from '../store/types.js';
import { JobEngine } from './jobs/engine.js';
import { KEY_CHECK_META, SecretBox, loadMasterKey } from './connectors/secrets.js';
import { ProviderPool } from './connectors/provider-pool.js';
import { registeredProviders } from '../providers/index.js';
import { PERMISSIVE, SecurityPolicy, type PolicyOptions } from './connectors/endpoint-policy.js';
import { ConnectorService, refuseArchived } from './connectors/service.js';
import { ImportService } from './jobs/import/service.js';
import { ImportHandler } from './jobs/import/handler.js';
import { JobViews } from './jobs/views.js';
import { ExportService } from './jobs/export/service.js';
import { JobRouter } from './jobs/router.js';
import { IndexService } from './indexes/service.js';
import { browse, type BrowseInput } from './connectors/browse.js';
import { KeyService } from './orgs/api-keys.js';
import { AutomationService, MIN_INTERVAL_MS } from './automations/service.js';
import { HashWorkers } from './jobs/import/hash-workers.js';
import { DEFAULT_EXTRACT_LIMITS, ExtractPool, type ExtractLimits } from './search/extract/pool.js';
import { TextExtractor } from './search/extractor.js';
import { SearchService } from './search/service.js';
import { ReindexService } from './search/reindex.js';
import { useCursorKey } from './domain/cursor.js';

export interface AppConfig {
  dataDir: string;
  /** postgres://… selects the PostgreSQL store (several processes and hosts share it); unset: SQLite in dataDir. */
  databaseUrl?: string | null;
  readOnly: boolean;
  /** Files downloaded at once by this process (0: this process runs no import work). */
  concurrency: number;
  /** Above `concurrency`: the files downloaded at once adapt between the two to the service's latency. */
  maxConcurrency?: number;
  /** At most this many files of one connector at once in this process (default: every slot). */
  connectorConcurrency?: number;
  /** Where imported content lives (default: <dataDir>/blobs). */
  blobStore?: BlobStoreSpec;
  leaseMs: number;
  pollMs: number;
  /** Tests only: the SQLite store may not grow past this many pages (SQLITE_FULL without a full disk). */
  sqliteMaxPageCount?: number;
  /** Text extraction: its limits and threads, and whether imports extract (reindex_index always does). Default: on, default limits. */
  extract?: ExtractLimits & { threads: number; onImport: boolean };
  /** Claims of one file (its worker died or it was handed back for a retry) before it fails for good (default 5). */
  maxAttempts?: number;
  idleTimeoutMs: number;
  browseBudgetMs: number;
  /** Finished jobs and their logs are pruned after this many days. */
  retentionDays: number;
  /** Threads that hash and write downloads (0: the main thread does; default: cores - 1, 1 to 4). */
  hashThreads?: number;
  /** What tenants may make the server do (stdio: permissive; HTTP: strict unless the operator opts in). */
  policy?: Omit<PolicyOptions, 'dataDir'>;
  /**
   * 'front': the HTTP front door records its policy in the store; 'worker': a worker refuses to start
   * when its policy differs from the recorded one (they serve the same tenants).
   */
  policyRole?: 'front' | 'worker' | 'stdio';
  /**
   * Loads the client libraries of the providers the store's connectors use once started, so a long-lived
   * process (a worker, an HTTP front door) does not make its first job wait for them.
   */
  warmProviders?: boolean;
  /** Set for the keys commands: this process touches no credentials, so no master key is read, made or recorded. */
  encryptsNothing?: boolean;
  /** False where --toolsets leave out exports: export automations start no run here (default true). */
  exportAutomations?: boolean;
  env: NodeJS.ProcessEnv;
  log: Logger;
}

/** The store key under which the HTTP front door records its tenant policy for workers to compare. */
export const POLICY_META = 'tenant_policy';

/** The policy options that decide what tenants may reach, in a stable order (so equal policies compare equal as text). */
function policyText(p: Omit<PolicyOptions, 'dataDir'>): string {
  const sorted = (a: string[] | null) => (a ? [...a].sort() : null);
  return JSON.stringify({
    env_refs: sorted(p.envRefs),
    file_refs: sorted(p.fileRefs),
    ambient_credentials: p.ambientCredentials,
    private_endpoints: p.privateEndpoints,
    endpoint_cidrs: sorted(p.endpointCidrs),
  });
}

async function agreePolicy(store: Store, config: AppConfig): Promise<void> {
  const stored = await store.getMeta(POLICY_META);
  if (config.policyRole === 'stdio') {
    // stdio is permissive: on a store that serves tenants, the import work it picked up would escape their policy.
    if (stored !== null && config.concurrency > 0) {
      throw new CloudportError('config_invalid', 'this store is served by an HTTP front door (its tenant policy is recorded there); a stdio server running import work on it would download for those tenants without that policy', {
        field: '--workers',
        fix: 'Start the stdio server with --workers 0 (it then runs no import work), run import work with cloudport worker and the front door\'s --allow-* flags, or use another --data-dir / --database-url.',
      });
    }
    return;
  }
  const mine = policyText(config.policy!);
  if (config.policyRole === 'front') {
    // Recorded by recordFrontDoorPolicy once the front door listens: one that never started serves no tenant.
    if (stored !== null && stored !== mine) config.log.warn('the tenant policy differs from the one recorded by an earlier front door; workers started with the old --allow-* flags will refuse to restart until they match', { recorded: JSON.parse(stored), now: JSON.parse(mine) });
    return;
  }
  if (stored !== null && stored !== mine) {
    throw new CloudportError('config_invalid', `this worker's tenant policy ${mine} differs from the HTTP front door's ${stored} recorded in the store`, {
      field: '--allow-*',
      fix: 'Start the worker with the same --allow-env-refs, --allow-file-refs, --allow-ambient-credentials, --allow-private-endpoints and --allow-endpoint-cidr settings as the front door.',
    });
  }
}

/**
 * For a stdio server that runs work: whether it may take more. agreePolicy refuses one started on a store
 * a front door already serves; a front door that starts later records its policy while this one runs, and
 * from then on its tenants' jobs would run here without that policy. So each claim looks first (one small
 * read), and once the policy is there this process takes no more work and starts no automation run.
 */
function stdioWorkGuard(store: Store, config: AppConfig): (() => Promise<boolean>) | undefined {
  if (config.policyRole !== 'stdio' || config.concurrency <= 0) return undefined;
  let stopped = false;
  return async () => {
    if (stopped) return false;
    if ((await store.getMeta(POLICY_META)) === null) return true;
    stopped = true;
    config.log.warn('an HTTP front door now serves this store: this stdio server takes no more import, export or automation work (its permissive policy must not apply to tenants\' jobs); restart it with --workers 0, and run work with cloudport worker');
    return false;
  };
}

/** The store key under which the id of the blob store holding the deployment's content is recorded. */
export const BLOB_STORE_META = 'blob_store_id';

/**
 * Every process of a store reads and writes content in one blob store: the store records the id that
 * blob store's marker holds, and a process whose blob store holds another one, or none while the store
 * has one recorded (a worker given its own --data-dir and no --blob-store), refuses to start. Else its
 * imports would land where the front door never reads them, and reads would call the content lost.
 */
async function agreeBlobStore(store: Store, blobs: BlobStore): Promise<void> {
  let marker = await blobs.readMarker();
  // The store decides which id holds: the blob store's own, or a new one when it has none.
  const candidate = marker ?? `bs_${randomBytes(12).toString('hex')}`;
  const recorded = (await store.getMeta(BLOB_STORE_META)) ?? (await store.setMetaOnce(BLOB_STORE_META, candidate));
  if (marker === null && recorded === candidate) {
    // This process recorded a new id: its blob store takes the marker (another one there first wins).
    await blobs.writeMarker(recorded);
    marker = await blobs.readMarker();
  }
  // A process that starts beside the one writing the marker may find it missing for a moment.
  for (let i = 0; marker === null && i < 25; i++) {
    await new Promise((r) => setTimeout(r, 200));
    marker = await blobs.readMarker();
  }
  if (marker === recorded) return;
  throw new CloudportError('config_invalid', `the blob store ${blobs.location} is not the one that holds this store's content: ${marker === null ? 'it has no marker' : `its marker says ${marker}`}, the store's content is in the blob store marked ${recorded}`, {
    field: '--blob-store',
    fix: `Give every process of the deployment the same --blob-store (the one the other processes use; without it each uses <data dir>/blobs of its own --data-dir). If this is that blob store restored without its marker, write "${recorded}" into ${MARKER_NAME} at its top.`,
  });
}

/** The organization every stdio call belongs to (HTTP mode maps API keys to organizations). */
export { DEFAULT_ORG } from './domain/org.js';

/** Everything the tools need, built once per process. */
export class App {
  private constructor(
    readonly config: AppConfig,
    readonly store: Store,
    readonly blobs: BlobStore,
    readonly connectors: ConnectorService,
    readonly imports: ImportService,
    /** Status, long poll, lists, logs and cancel of jobs of either kind. */
    readonly jobs: JobViews,
    readonly indexes: IndexService,
    readonly engine: JobEngine,
    private readonly pool: ProviderPool,
  ) {
    this.keys = new KeyService(store);
  }

  readonly keys: KeyService;

  /**
   * Records this front door's tenant policy in the store (workers compare theirs with it, and a stdio
   * server then runs no import work there): called once it listens, so a front door that failed to start
   * (its port taken) leaves no mark on the data dir.
   */
  async recordFrontDoorPolicy(): Promise<void> {
    if (this.config.policyRole !== 'front' || !this.config.policy) return;
    const mine = policyText(this.config.policy);
    if ((await this.store.getMeta(POLICY_META)) !== mine) await this.store.setMeta(POLICY_META, mine);
  }
  /** Scheduled imports and exports; their scheduler runs wherever the job engine runs. */
  automations!: AutomationService;
  /** Exports from indexes to buckets: jobs of kind "export" in the same engine. */
  exports!: ExportService;
  private hashers?: HashWorkers;
  private extractor?: TextExtractor;
  /** Full-text search over the org's indexes. */
  search!: SearchService;
  /** reindex_index: extraction of items already imported, as jobs of kind "reindex". */
  reindex!: ReindexService;

  static async open(config: AppConfig): Promise<App> {
    try {
      fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      throw new CloudportError('config_invalid', `the data dir ${config.dataDir} cannot be made or used (${code}${code === 'EEXIST' || code === 'ENOTDIR' ? ': a file is in the way' : ''})`, { field: '--data-dir', fix: 'Give --data-dir (or CLOUDPORT_DATA_DIR) a directory this user may write to.' });
    }
    const storeOpts = { dataDir: config.dataDir, databaseUrl: config.databaseUrl, poolMax: Math.max(10, Math.max(config.concurrency, config.maxConcurrency ?? 0) + 4), idleInTransactionMs: Math.max(10_000, 2 * config.leaseMs), sqliteMaxPageCount: config.sqliteMaxPageCount };
    const store = await openStore(storeOpts);
    try {
      // A process that encrypts nothing (the keys commands) neither needs the master key nor records one:
      // recorded, a key generated in an admin's data dir would lock out every server started with the team's.
      const check = config.encryptsNothing ? null : await store.getMeta(KEY_CHECK_META);
      const hasSecrets = check !== null || (!config.encryptsNothing && (await store.countConnectors()) > 0);
      const key = config.encryptsNothing ? randomBytes(32) : loadMasterKey(config.dataDir, config.env.CLOUDPORT_MASTER_KEY, !hasSecrets, config.databaseUrl ? `the database ${describeStore(storeOpts)}` : 'this data dir').key;
      const box = new SecretBox(key);
      const stored = config.encryptsNothing ? box.keyCheck() : (check ?? (await store.setMetaOnce(KEY_CHECK_META, box.keyCheck())));
      if (!box.verifyKeyCheck(stored)) {
        const where = config.databaseUrl ? describeStore(storeOpts) : config.dataDir;
        // With no connector yet the check is only what the store's first start recorded: refused all the
        // same, since processes sharing a store must seal credentials and cursors with one key.
        const what = (await store.countConnectors()) > 0 ? `the key that encrypted the credentials in ${where}` : `the key ${where} recorded at its first start (it holds no credentials yet, but every process of a store must use one key)`;
        throw new CloudportError('config_invalid', `the master key does not match ${what}`, {
          field: 'CLOUDPORT_MASTER_KEY',
          fix: 'Start cloudport with the original CLOUDPORT_MASTER_KEY (or restore master.key). Nothing was changed.',
        });
      }
      useCursorKey(key);
      if (config.policyRole) await agreePolicy(store, config);
      const blobs = await openBlobStore(config.blobStore, config.dataDir, config.env, config.log);
      if (!config.encryptsNothing) await agreeBlobStore(store, blobs);
      await blobs.cleanTemp();
      const policy = new SecurityPolicy({ ...(config.policy ?? PERMISSIVE(config.dataDir)), dataDir: config.dataDir });
      const pool = new ProviderPool(box, config.env, policy, Math.max(16, Math.max(config.concurrency, config.maxConcurrency ?? 0) * 2), undefined, config.idleTimeoutMs);
      const connectors = new ConnectorService(store, box, pool, config.readOnly, policy);
      // Downloads are hashed and written on worker threads (none: on the main thread).
      const hashers = config.hashThreads === 0 ? undefined : new HashWorkers(config.hashThreads);
      const jobs = new JobViews(store);
      const imports = new ImportService(store, pool, connectors, jobs);
      // Reindex always extracts; imports only when extraction is on for them.
      const { threads, onImport, ...limits } = config.extract ?? { ...DEFAULT_EXTRACT_LIMITS, threads: 1, onImport: true };
      const extractor = new TextExtractor(store, new ExtractPool(limits, threads, config.log), config.log);
      const importHandler = new ImportHandler(store, blobs, pool, connectors, { idleTimeoutMs: config.idleTimeoutMs, leaseMs: config.leaseMs, log: config.log, hashers, ...(onImport ? { extractor } : {}) });
      const reindex = new ReindexService(store, blobs, extractor.pool, config.leaseMs);
      const exportService = new ExportService(store, blobs, pool, connectors, { leaseMs: config.leaseMs, log: config.log });
      const guard = stdioWorkGuard(store, config);
      const engine = new JobEngine(store, new JobRouter({ import: importHandler, export: exportService, reindex }, importHandler), { ...(guard ? { mayClaim: guard } : {}), concurrency: config.concurrency, ...(config.maxConcurrency ? { maxConcurrency: config.maxConcurrency } : {}), ...(config.connectorConcurrency ? { connectorConcurrency: config.connectorConcurrency } : {}), leaseMs: config.leaseMs, pollMs: config.pollMs, maxAttempts: config.maxAttempts, log: config.log });
      imports.attach(engine);
      importHandler.attach(engine);
      reindex.attach(engine);
      jobs.attach(engine);
      exportService.attach(engine);
      const app = new App(config, store, blobs, connectors, imports, jobs, new IndexService(store, blobs, config.policyRole === 'front' ? config.log : undefined), engine, pool);
      app.exports = exportService;
      app.hashers = hashers;
      app.extractor = extractor;
      app.search = new SearchService(store);
      app.reindex = reindex;
      const minInterval = Number(config.env.CLOUDPORT_MIN_INTERVAL_MS);
      app.automations = new AutomationService(store, imports, {
        minIntervalMs: Number.isFinite(minInterval) && minInterval > 0 ? minInterval : MIN_INTERVAL_MS,
        claimMs: Math.max(config.leaseMs, 1000),
        pollMs: 5000,
        log: config.log,
        providers: pool,
        exportsEnabled: config.exportAutomations !== false,
        ...(guard ? { mayRun: guard } : {}),
      });
      app.automations.attachExports(() => app.exports);
      return app;
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  async browse(org: string, connectorId: string, input: Omit<BrowseInput, 'connector_id'>) {
    const c = await this.connectors.get(org, connectorId);
    refuseArchived(c, 'be browsed');
    return browse(await this.pool.get(c), org, { ...input, connector_id: c.id }, this.config.browseBudgetMs);
  }

  /**
   * For GET /healthz: store reachable, and this process's configured worker concurrency (with
   * `max_concurrency` when it adapts up to that). Queue, in-flight counts and the adapted number stay
   * out: they show other tenants' activity.
   */
  async health(): Promise<{ ok: boolean; store: string; workers: { concurrency: number; max_concurrency?: number } }> {
    const max = this.config.maxConcurrency ?? 0;
    const workers = { concurrency: this.config.concurrency, ...(max > this.config.concurrency ? { max_concurrency: max } : {}) };
    try {
      await this.store.getMeta('master_key_check');
      return { ok: true, store: 'ok', workers };
    } catch {
      return { ok: false, store: 'unavailable', workers };
    }
  }

  private maintenanceTimer: NodeJS.Timeout | null = null;
  private tempTimer: NodeJS.Timeout | null = null;

  private unwatch: (() => void) | null = null;

  start(): void {
    this.engine.start();
    // Processes sharing a PostgreSQL store hear each other's jobs at once: a worker starts a new job, and
    // a long poll answers for a job that another process finished (the polls remain the fallback).
    this.unwatch =
      this.store.watchJobs?.((e) => {
        if (e.kind === 'final') this.engine.notify(e.jobId, true);
        else this.engine.wake();
      }) ?? null;
    if (this.config.warmProviders) {
      void this.store
        .connectorProviders()
        // (A connector of a provider this build does not know, say of a newer build sharing the store, is left out.)
        .then((names) => Promise.all(registeredProviders().filter((p) => names.includes(p.name)).map((p) => p.preload())))
        .catch((e) => this.config.log.debug('provider preload failed', { error: (e as Error).message }));
    }
    if (this.config.concurrency > 0) this.automations.start();
    // Temp files of processes that died (kill -9) on this host are swept soon after their leases expire.
    const sweepMs = Math.min(60_000, Math.max(2_000, 2 * this.config.leaseMs));
    this.tempTimer = setInterval(
      () => void this.blobs.cleanTemp().then((n) => n && this.config.log.info('removed temp files of stopped processes', { files: n }), (e) => this.config.log.warn('temp sweep failed', { error: (e as Error).message })),
      sweepMs,
    );
    this.tempTimer.unref();
    const run = () =>
      this.indexes
        .maintain(this.config.retentionDays)
        .then((r) => (r.jobs_pruned || r.blobs_removed || r.orphans_removed) && this.config.log.info('maintenance', r))
        .catch((e) => this.config.log.warn('maintenance failed', { error: (e as Error).message }));
    void run();
    this.maintenanceTimer = setInterval(run, 6 * 3600_000);
    this.maintenanceTimer.unref();
  }

  async close(): Promise<void> {
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    await this.automations.stop();
    if (this.tempTimer) clearInterval(this.tempTimer);
    this.unwatch?.();
    await this.engine.stop();
    this.pool.close();
    this.blobs.close?.();
    await this.hashers?.close();
    await this.extractor?.close();
    await this.store.close();
  }
}
