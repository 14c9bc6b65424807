import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { CloudportError, asCloudportError, invalid, notFound } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { Logger } from '../../shared/log.js';
import { redact } from '../../shared/redact.js';
import type { AutomationRow, ConnectorRow, JobState, NewAutomation, Store } from '../../store/types.js';
import { FINAL_JOB_STATES } from '../../store/types.js';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import { compileFilter } from '../domain/filter.js';
import { checkIndexName } from '../domain/index-names.js';
import { checkName } from '../domain/names.js';
import { entryBytes, fitPage } from '../domain/page-budget.js';
import type { ImportService } from '../jobs/import/service.js';
import type { ExportService } from '../jobs/export/service.js';
import { jobReason } from '../jobs/listing-state.js';
import type { StorageProvider } from '../../providers/types.js';

/**
 * Automations keep an index fed on a schedule: each run is an ordinary job (an import through
 * ImportService.start, an export through the export service), tagged with the automation's id.
 *
 * Scheduling rules, all enforced through the store so that any number of processes may run the
 * scheduler at once:
 * - A run is claimed by compare-and-set on next_run_at (UPDATE … WHERE id = ? AND next_run_at = ?):
 *   exactly one process wins each tick. The claim is a lease (next_run_at = now + lease): a process
 *   that dies between claim and record leaves the run to be retried after the lease, and the retry
 *   reuses the idempotency key `automation:<id>:<run number>`, so it finds the job if one was made.
 * - No overlap: a tick that comes while the previous run's job is not final is skipped (counted in
 *   `skipped` and logged on that job); the next tick runs as usual. Ticks are not queued.
 * - Missed ticks (every process down) collapse into one run at start: the next tick is computed
 *   from the time of the run, never from the missed tick.
 * - A connector that is not ACTIVE (SUSPENDED / FAILED / ARCHIVED) or lacks the needed scope pauses
 *   its automations (their ticks pass without a run); they resume by themselves when it is ACTIVE.
 * - Deleting a connector deletes its automations; their jobs stay.
 * - Runs that found nothing to do (completed, every file skipped) are pruned when the next run
 *   starts: only runs that did something stay in list_imports (until the usual retention), and
 *   those keep the number of their skipped files rather than one row per unchanged file.
 */

export const AUTOMATION_KINDS = ['import', 'export'] as const;
export type AutomationKind = (typeof AUTOMATION_KINDS)[number];

export interface AutomationInput {
  kind: AutomationKind;
  connector_id: string;
  index: string;
  prefix?: string;
  pattern?: string;
  schedule: string;
  import_mode?: 'all' | 'new_only';
  enabled?: boolean;
  name?: string;
}

export type AutomationPatch = Partial<Omit<AutomationInput, 'kind' | 'connector_id'>>;

interface AutomationParams {
  prefix?: string;
  pattern?: string;
  import_mode?: 'all' | 'new_only';
}

export interface AutomationView {
  id: string;
  name: string;
  kind: AutomationKind;
  connector_id: string;
  index: string;
  prefix: string | null;
  pattern: string | null;
  import_mode: string | null;
  schedule: string;
  enabled: boolean;
  state: 'active' | 'paused' | 'disabled';
  paused_reason: string | null;
  next_run_at: string | null;
  last_run_at: string | null;
  last_job_id: string | null;
  /** The last run's job status (null when it was pruned or there was none). */
  last_status: JobState | null;
  /** The last job's reason (its error, or that nothing matched), null when it had none. */
  last_reason: string | null;
  last_error: string | null;
  runs: number;
  skipped: number;
  updated_at: string;
}

/** What an export automation needs from the export service (src/core/exports.ts). */
export type ExportStarter = Pick<ExportService, 'start'>;

export interface AutomationOptions {
  /** Smallest allowed gap between runs (default 1 minute; CLOUDPORT_MIN_INTERVAL_MS lowers it for tests). */
  minIntervalMs: number;
  /** How long a claimed run may take to be recorded before another process retries it. */
  claimMs: number;
  /** Longest sleep between two looks at the store (catches changes made by other processes). */
  pollMs: number;
  log: Logger;
  /** Opens a connector's provider: scheduled imports over one with a change feed skip ticks with no change. */
  providers?: { get(c: ConnectorRow): Promise<StorageProvider> };
  /** False on a server whose --toolsets leave out exports: its export automations start no run (default true). */
  exportsEnabled?: boolean;
  /** Asked before each look at due automations: false starts no run here (see EngineOptions.mayClaim). */
  mayRun?: () => Promise<boolean>;
}

export const MIN_INTERVAL_MS = 60_000;
const INTERVAL = /^(\d{1,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const FINAL: ReadonlySet<string> = new Set(FINAL_JOB_STATES);
/** How far apart the clocks of two hosts may be when a deletion is weighed against a run's creation. */
const DELETE_SKEW_MS = 2000;
/** An automation name another automation of the organization holds: one error for create and update. */
const nameTaken = (name: string) =>
  new CloudportError('conflict', `an automation named ${JSON.stringify(name)} already exists`, {
    field: 'name',
    fix: 'Give another name, or change the existing one with update_automation (list_automations shows it).',
  });
/** Cron fields in order (croner's names), and what each takes. */
const CRON_FIELDS = ['second', 'minute', 'hour', 'day', 'month', 'weekday'];
const RANGES: Record<string, string> = { second: '0-59', minute: '0-59', hour: '0-23', day: 'days 1-31 of the month', month: 'months 1-12 or JAN-DEC', weekday: '0-7 or SUN-SAT' };
const SCHEDULE_FIX = 'Use an interval such as "15m", "1h", "1d", or a cron expression (UTC) such as "*/15 * * * *" (minute hour day-of-month month day-of-week).';

export interface Schedule {
  /** The first run time strictly after `from` (epoch ms). */
  next(from: number): number;
}

/** Parses an interval ("90s", "15m", "1h", "1d") or a cron expression (croner, UTC); `schedule` errors name the field. */
export function parseSchedule(text: string, minMs = MIN_INTERVAL_MS, opts: { ended?: boolean } = {}): Schedule {
  const s = text.trim();
  const human = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} minute(s)` : `${ms / 1000} second(s)`);
  const m = INTERVAL.exec(s);
  if (m) {
    const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    if (ms < minMs) throw invalid('schedule', `schedule ${JSON.stringify(text)} is shorter than the minimum interval of ${human(minMs)}`, SCHEDULE_FIX);
    if (ms > 366 * UNIT_MS.d) throw invalid('schedule', `schedule ${JSON.stringify(text)} is longer than a year`, SCHEDULE_FIX);
    return { next: (from) => from + ms };
  }
  let cron: Cron;
  try {
    cron = new Cron(s, { timezone: 'UTC' });
  } catch (e) {
    // croner names a value out of range by its own shifted number ("month: 12" for 13): the field is named instead.
    const field = /Invalid value for (\w+)/.exec((e as Error).message)?.[1];
    const parts = s.split(/\s+/);
    const at = field ? CRON_FIELDS.indexOf(field) - (parts.length >= 6 ? 0 : 1) : -1;
    const why = field && RANGES[field] ? `its ${field} field${parts[at] !== undefined ? ` "${parts[at]}"` : ''} is out of range: ${RANGES[field]}` : (e as Error).message;
    throw invalid('schedule', `schedule ${JSON.stringify(text)} is neither an interval nor a valid cron expression (${why})`, SCHEDULE_FIX);
  }
  const runs = cron.nextRuns(4);
  // A stored schedule at its last match (a year field) still runs that one: `ended` lets it pass.
  if (runs.length === 0 && !opts.ended) throw invalid('schedule', `cron expression ${JSON.stringify(text)} never runs`, SCHEDULE_FIX);
  for (let i = 1; i < runs.length; i++) {
    if (runs[i]!.getTime() - runs[i - 1]!.getTime() < minMs) {
      throw invalid('schedule', `cron expression ${JSON.stringify(text)} runs more often than the minimum interval of ${human(minMs)}`, SCHEDULE_FIX);
    }
  }
  return {
    next: (from) => {
      const d = cron.nextRun(new Date(from));
      // A cron that ends (a year field) runs no more.
      return d ? Math.max(d.getTime(), from + 1) : NO_NEXT_RUN;
    },
  };
}

/**
 * "<kind> <connector> → <index>" within 100 characters: the connector's name is shortened (by whole
 * characters, with "…") so that the index, which tells two automations of a connector apart, stays whole.
 */
function defaultName(kind: string, connector: string, index: string): string {
  const tail = ` → ${index}`;
  const room = 100 - kind.length - 1 - [...tail].length;
  const chars = [...connector];
  const head = chars.length <= room ? connector : `${chars.slice(0, Math.max(1, room - 1)).join('')}…`;
  return [...`${kind} ${head}${tail}`].slice(0, 100).join('');
}

/** next_run_at of a cron whose matches have all passed (a year field): never due, shown as no next run. */
export const NO_NEXT_RUN = Number.MAX_SAFE_INTEGER;

function iso(ms: number): string {
  // (NO_NEXT_RUN is past the last date a Date holds.)
  return ms >= NO_NEXT_RUN ? 'none (its cron has no later match)' : new Date(ms).toISOString();
}

/** Numbers as numbers whatever the driver returns for BIGINT (PostgreSQL gives strings). */
function norm(a: AutomationRow): AutomationRow {
  return { ...a, next_run_at: Number(a.next_run_at), enabled: Number(a.enabled), runs: Number(a.runs), skipped: Number(a.skipped) };
}

export class AutomationService {
  private exportsSource: (() => ExportStarter | undefined) | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private dirty = false;

  constructor(
    private readonly store: Store,
    private readonly imports: ImportService,
    private readonly opts: AutomationOptions,
  ) {}

  /** Export automations run through the export service once one is attached. */
  attachExports(source: () => ExportStarter | undefined): void {
    this.exportsSource = source;
  }

  private exporter(): ExportStarter | undefined {
    return this.exportsSource?.() ?? undefined;
  }

  /**
   * An export automation reads an index: one that exists, that a queued or running job is creating, or
   * that an import automation of the organization fills. Else every run would fail with not_found.
   */
  private async requireExportSource(org: string, index: string): Promise<void> {
    if (await this.exportSourceNow(org, index)) return;
    for (let after: string | undefined; ; ) {
      const rows = await this.store.listAutomations(org, { ...(after ? { after } : {}), limit: 500 });
      if (rows.some((r) => r.kind === 'import' && r.index_name === index)) return;
      if (rows.length < 500) break;
      after = rows[rows.length - 1]!.id;
    }
    throw notFound('index', index, 'index', 'An export automation reads an index: import into it first (start_import, or an import automation into it), then create this one; list_indexes shows the indexes.');
  }

  // ---- tools ----

  async create(org: string, input: AutomationInput): Promise<AutomationView> {
    const kind = input.kind;
    if (!AUTOMATION_KINDS.includes(kind)) throw invalid('kind', `kind must be "import" or "export"`);
    if (kind === 'export' && !this.exporter()) {
      throw new CloudportError('unsupported', 'export automations are not available in this version', { field: 'kind', fix: 'Use kind "import".' });
    }
    const c = await this.connector(org, input.connector_id);
    this.checkConnector(c, kind);
    const index = checkIndexName(input.index);
    if (kind === 'export') await this.requireExportSource(org, index);
    const params = this.checkParams(kind, input);
    const schedule = parseSchedule(input.schedule, this.opts.minIntervalMs);
    const name = checkName(input.name ?? defaultName(kind, c.name, index), 'nightly contracts');
    if (await this.store.findAutomationByName(org, name)) {
      throw nameTaken(name);
    }
    const now = Date.now();
    const row: NewAutomation = {
      id: newId('auto'),
      org_id: org,
      name,
      kind,
      connector_id: c.id,
      index_name: index,
      params: JSON.stringify(params),
      schedule: input.schedule.trim(),
      enabled: input.enabled === false ? 0 : 1,
      next_run_at: schedule.next(now),
      last_run_at: null,
      last_job_id: null,
      last_error: null,
      runs: 0,
      skipped: 0,
      created_at: iso(now),
      updated_at: iso(now),
    };
    try {
      await this.store.insertAutomation(row);
    } catch (e) {
      if (await this.store.findAutomationByName(org, name)) throw nameTaken(name);
      throw e;
    }
    this.wake();
    return this.view((await this.store.getAutomation(org, row.id))!, c);
  }

  async list(org: string, opts: { connector_id?: string; cursor?: string; limit: number }): Promise<{ automations: AutomationView[]; next_cursor: string | null }> {
    const q = { c: opts.connector_id ?? null };
    const cur = decodeCursor<{ after: string }>(org, opts.cursor, q, { after: 'string' });
    const rows = await this.store.listAutomations(org, { connectorId: opts.connector_id, after: cur?.after, limit: opts.limit + 1 });
    let more = rows.length > opts.limit;
    if (more) rows.pop();
    // None, for a connector that is not there: a misspelled id, not a connector without automations.
    if (!rows.length && !cur && opts.connector_id && !(await this.store.getConnector(org, opts.connector_id))) {
      throw notFound('connector', opts.connector_id, 'connector_id', 'list_connectors shows the connectors that exist.');
    }
    const connectors = new Map<string, ConnectorRow | null>();
    const out: AutomationView[] = [];
    for (const r of rows) {
      if (!connectors.has(r.connector_id)) connectors.set(r.connector_id, await this.store.getConnector(org, r.connector_id));
      out.push(await this.view(r, connectors.get(r.connector_id) ?? null));
    }
    // Long names, reasons or errors make a shorter page (the cursor resumes after the last one shown), never a cut row.
    // Each row also shows its kind, mode, state, counts and the nulls of its empty fields: about 60 bytes besides its strings
    // and ENTRY_OVERHEAD, and the summary line shows three rows in full, so the estimate errs long.
    if (fitPage(out, (a) => entryBytes(a.id, a.name, a.connector_id, a.index, a.prefix, a.pattern, a.schedule, a.paused_reason, a.next_run_at, a.last_run_at, a.last_job_id, a.last_status, a.last_reason, a.last_error) + 60)) more = true;
    return { automations: out, next_cursor: more ? encodeCursor(org, { after: out[out.length - 1]!.id }, q) : null };
  }

  async get(org: string, id: string): Promise<AutomationView> {
    const a = await this.row(org, id);
    return this.view(a, await this.store.getConnector(org, a.connector_id));
  }

  async update(org: string, id: string, patch: AutomationPatch): Promise<AutomationView> {
    const a = await this.row(org, id);
    const c = await this.connector(org, a.connector_id);
    const kind = a.kind as AutomationKind;
    const out: Partial<NewAutomation> = {};
    const old = JSON.parse(a.params) as AutomationParams;
    if (patch.index !== undefined) {
      out.index_name = checkIndexName(patch.index);
      if (kind === 'export' && out.index_name !== a.index_name) await this.requireExportSource(org, out.index_name);
      out.change_token = null;
    }
    if (patch.prefix !== undefined || patch.pattern !== undefined || patch.import_mode !== undefined) {
      const merged = { ...old, ...Object.fromEntries(Object.entries({ prefix: patch.prefix, pattern: patch.pattern, import_mode: patch.import_mode }).filter(([, v]) => v !== undefined)) };
      out.params = JSON.stringify(this.checkParams(kind, merged));
      // Other files now: the next run reads the whole listing, not only the changes.
      out.change_token = null;
    }
    if (patch.name !== undefined) {
      const name = checkName(patch.name, 'nightly contracts');
      const other = await this.store.findAutomationByName(org, name);
      if (other && other.id !== id) throw nameTaken(name);
      out.name = name;
    }
    const now = Date.now();
    let reschedule = false;
    if (patch.schedule !== undefined) {
      parseSchedule(patch.schedule, this.opts.minIntervalMs);
      out.schedule = patch.schedule.trim();
      reschedule = out.schedule !== a.schedule;
    }
    if (patch.enabled !== undefined) {
      out.enabled = patch.enabled ? 1 : 0;
      if (patch.enabled && !a.enabled) reschedule = true;
    }
    // A new schedule (or re-enabling) starts counting from now: no burst of runs for the time it was off.
    if (reschedule) out.next_run_at = parseSchedule(out.schedule ?? a.schedule, this.opts.minIntervalMs).next(now);
    // The schedule that could not start (the error the scheduler disabled it with) is gone: so is its error.
    if (out.schedule !== undefined && out.schedule !== a.schedule && a.last_error?.includes(JSON.stringify(a.schedule))) out.last_error = null;
    out.updated_at = iso(now);
    const row = await this.store.updateAutomation(org, id, out);
    if (!row) throw notFound('automation', id, 'automation_id', 'list_automations shows the automations that exist.');
    this.wake();
    return this.view(row, c);
  }

  async delete(org: string, id: string): Promise<AutomationView> {
    const v = await this.get(org, id);
    await this.store.deleteAutomation(org, id);
    this.wake();
    return v;
  }

  /** Starts a run now (outside the schedule, which stays as it was). Refused while the previous run is not final or the connector is paused. */
  async runNow(org: string, id: string): Promise<{ job_id: string; automation: AutomationView }> {
    const a = await this.row(org, id);
    const c = await this.connector(org, a.connector_id);
    const reason = await this.pauseReason(a, c);
    if (reason) throw new CloudportError('conflict', `automation ${a.id} is paused: ${reason}`, { field: 'automation_id', fix: this.resumeFix(a, c) });
    const prev = a.last_job_id ? await this.store.getJob(org, a.last_job_id) : null;
    if (prev && !FINAL.has(prev.status)) {
      throw new CloudportError('conflict', `automation ${a.id}'s previous run ${prev.id} is still ${prev.status}`, {
        field: 'automation_id',
        fix: 'Wait for it (import_status job_id, wait_seconds) or cancel it, then run again.',
      });
    }
    const claim = Date.now() + this.opts.claimMs;
    if (!(await this.store.casAutomation(a.id, a.next_run_at, { next_run_at: claim }))) {
      throw new CloudportError('conflict', `automation ${a.id} is starting a run right now`, { field: 'automation_id', fix: 'list_automations shows its last_job_id in a moment.', temporary: true });
    }
    // The schedule stays; +1 ms so that no process holding the old value as its expected next_run_at can win a stale compare-and-set.
    // A manual run always runs; it still moves the change feed on.
    const feed = a.kind === 'import' ? await this.readFeed(a, c) : null;
    const jobId = await this.execute(a, claim, a.next_run_at + 1, true, feed?.token);
    return { job_id: jobId, automation: await this.get(org, id) };
  }

  // ---- scheduler ----

  /** Starts the scheduler loop (in every process that runs the job engine). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Look at the store now (after an automation changed in this process). */
  wake(): void {
    this.dirty = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.dirty = false;
      let delay = this.opts.pollMs;
      try {
        await this.tick();
        // Cheap: one indexed MIN(next_run_at); sleep until then, but look again at least every pollMs.
        const next = await this.store.nextAutomationRun(this.kindsRun());
        if (next !== null) delay = Math.max(0, Math.min(delay, next - Date.now()));
      } catch (e) {
        this.opts.log.error('automation scheduler tick failed', { error: (e as Error).message });
      }
      if (!this.running) break;
      if (this.dirty) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }

  /**
   * The kinds this process runs: without exports (--toolsets) not export automations, which it leaves
   * untouched (their ticks are another process's: a cloudport worker on the store runs them).
   */
  private kindsRun(): readonly string[] | undefined {
    return this.opts.exportsEnabled === false ? ['import'] : undefined;
  }

  /** Due automations, a few at a time (starting a run lists the bucket for up to a couple of seconds). */
  private async tick(): Promise<void> {
    if (this.opts.mayRun && !(await this.opts.mayRun())) return;
    const now = Date.now();
    const due = (await this.store.dueAutomations(now, 50, this.kindsRun())).map(norm);
    let next = 0;
    const worker = async () => {
      while (this.running && next < due.length) {
        const a = due[next++]!;
        await this.fire(a, now).catch((e) => this.opts.log.error('automation run failed', { automation_id: a.id, error: (e as Error).message }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, due.length) }, worker));
  }

  /** One due tick of one automation: skip (previous run busy), pass (paused), or claim and run. */
  private async fire(a: AutomationRow, now: number): Promise<void> {
    let next: number;
    try {
      next = parseSchedule(a.schedule, this.opts.minIntervalMs, { ended: true }).next(now);
    } catch (e) {
      // The schedule no longer passes (e.g. the minimum interval was raised): disable rather than spin.
      await this.store.casAutomation(a.id, a.next_run_at, { enabled: 0, last_error: asCloudportError(e).message, updated_at: iso(now) });
      return;
    }
    const prev = a.last_job_id ? await this.store.getJob(a.org_id, a.last_job_id) : null;
    if (prev && !FINAL.has(prev.status)) {
      if (await this.store.casAutomation(a.id, a.next_run_at, { next_run_at: next, skipped: a.skipped + 1, updated_at: iso(now) })) {
        const message = `automation ${a.id}: tick skipped, the previous run ${prev.id} is still ${prev.status}; next run at ${iso(next)}`;
        this.opts.log.info('automation tick skipped', { automation_id: a.id, job_id: prev.id, status: prev.status });
        await this.store.addLog({ org_id: a.org_id, job_id: prev.id, connector_id: a.connector_id, level: 'info', message, time: iso(now) });
      }
      return;
    }
    const c = await this.store.getConnector(a.org_id, a.connector_id);
    if (!c) {
      // Its connector is gone (deleted by another path): the automation goes with it.
      await this.store.deleteAutomation(a.org_id, a.id);
      return;
    }
    const reason = await this.pauseReason(a, c);
    if (reason) {
      if (await this.store.casAutomation(a.id, a.next_run_at, { next_run_at: next })) this.opts.log.debug('automation paused', { automation_id: a.id, reason });
      return;
    }
    const claim = now + this.opts.claimMs;
    if (!(await this.store.casAutomation(a.id, a.next_run_at, { next_run_at: claim }))) return; // another process won this tick
    const feed = a.kind === 'import' ? await this.readFeed(a, c) : null;
    // Nothing changed since a run that left nothing behind: this tick costs one feed request and one
    // store look-up, no listing. The feed only knows the connector's side: an index deleted since
    // (delete_index), or one that lost an item (delete_item) since that run was created (the run may
    // have committed the key before it was deleted), is brought up to date by this tick's run, whatever
    // the feed says. (A deletion up to DELETE_SKEW_MS before counts too: another host's clock may differ.)
    const index = feed?.changed === false && prev?.status === 'completed' ? await this.store.indexDeletions(a.org_id, a.index_name) : null;
    const deletedSince = (at: string | null) => at !== null && Date.parse(at) >= Date.parse(prev!.created_at) - DELETE_SKEW_MS;
    if (feed && index && !deletedSince(index.itemDeletedAt)) {
      const at = iso(Date.now());
      if (await this.store.casAutomation(a.id, claim, { next_run_at: next, change_token: feed.token, skipped: a.skipped + 1, updated_at: at })) {
        this.opts.log.debug('automation tick skipped: no change', { automation_id: a.id, next_run_at: iso(next) });
      }
      this.wake();
      return;
    }
    await this.execute(a, claim, next, false, feed?.token).catch(() => undefined);
  }

  /**
   * Where the connector's change feed stands (null when it has none or cannot tell): read before the
   * run starts, so whatever changes while it lists shows up in the next run's feed.
   */
  private async readFeed(a: AutomationRow, c: ConnectorRow): Promise<{ token: string; changed: boolean | null } | null> {
    const providers = this.opts.providers;
    if (!providers) return null;
    try {
      const p = await providers.get(c);
      if (!p.changes) return null;
      // A token is kept with the connector's location and credentials it was read with: once either
      // changes (another folder, another account), the next run reads everything.
      const fingerprint = createHash('sha256').update(c.config).update('\0').update(c.credentials_enc).digest('base64url').slice(0, 16);
      const [kept, stored] = a.change_token?.startsWith(`${fingerprint}:`) ? [true, a.change_token.slice(fingerprint.length + 1)] : [false, null];
      const mark = (r: { token: string; changed: boolean | null }) => ({ token: `${fingerprint}:${r.token}`, changed: kept ? r.changed : null });
      try {
        return mark(await p.changes(stored));
      } catch (e) {
        // An expired or foreign token: start the feed afresh (this run reads everything).
        this.opts.log.debug('change feed restarted', { automation_id: a.id, error: (e as Error).message });
        return { token: `${fingerprint}:${(await p.changes(null)).token}`, changed: null };
      }
    } catch (e) {
      this.opts.log.warn('change feed unavailable', { automation_id: a.id, error: (e as Error).message });
      return null;
    }
  }

  /**
   * Runs a claimed automation: starts its job, then records the run and moves next_run_at from the
   * claim to `next`. If the record's compare-and-set loses (the automation was changed meanwhile),
   * the run is still recorded, without touching next_run_at.
   */
  private async execute(a: AutomationRow, claim: number, next: number, manual: boolean, changeToken?: string): Promise<string> {
    const startedAt = iso(Date.now());
    let jobId: string | null = null;
    let error: CloudportError | null = null;
    try {
      jobId = await this.startJob(a);
    } catch (e) {
      error = asCloudportError(e);
    }
    const record: Partial<NewAutomation> = jobId
      ? { last_run_at: startedAt, last_job_id: jobId, last_error: null, runs: a.runs + 1, updated_at: startedAt, ...(changeToken !== undefined ? { change_token: changeToken } : {}) }
      : { last_run_at: startedAt, last_error: redact(error!.message, a.org_id).slice(0, 1000), updated_at: startedAt };
    if (!(await this.store.casAutomation(a.id, claim, { ...record, next_run_at: next }))) await this.store.updateAutomation(a.org_id, a.id, record);
    if (jobId) {
      this.opts.log.info('automation run started', { automation_id: a.id, job_id: jobId, manual, claimed_at: iso(claim - this.opts.claimMs) });
      // Runs that found nothing new leave no trail beyond the latest (a 15-minute schedule would
      // otherwise add 96 empty jobs a day, each with one skipped row per unchanged file).
      // Earlier runs that did something keep a count of their skipped files instead of one row each.
      await this.store
        .pruneIdleAutomationRuns(a.org_id, a.id, jobId)
        .then(() => this.store.compactAutomationRuns(a.org_id, a.id, jobId))
        .catch((e) => this.opts.log.warn('pruning automation runs failed', { automation_id: a.id, error: (e as Error).message }));
    }
    else this.opts.log.warn('automation run not started', { automation_id: a.id, error: record.last_error });
    this.wake();
    if (error) throw error;
    return jobId!;
  }

  private async startJob(a: AutomationRow): Promise<string> {
    // The run number makes the key: a run retried after a lost claim finds the job the first attempt made.
    const key = `automation:${a.id}:${a.runs + 1}`;
    try {
      return await this.startWithKey(a, key);
    } catch (e) {
      // The first attempt made its job with the settings before an update_automation: that job is this run.
      const earlier = e instanceof CloudportError && e.field === 'idempotency_key' ? await this.store.findJobByIdempotencyKey(a.org_id, key) : null;
      if (!earlier) throw e;
      if (earlier.automation_id === a.id) return earlier.id;
      // Someone used this key for a start_import of their own: this run takes another one.
      return this.startWithKey(a, `${key}:${newId('k')}`);
    }
  }

  private async startWithKey(a: AutomationRow, idempotency_key: string): Promise<string> {
    const params = JSON.parse(a.params) as AutomationParams;
    if (a.kind === 'export') {
      const ex = this.exporter();
      if (!ex) throw new CloudportError('unsupported', 'export automations are not available in this version', { field: 'kind' });
      // if_changed: each run writes items that are new or changed since the last run and skips the rest.
      const r = await ex.start(a.org_id, {
        connector_id: a.connector_id,
        index: a.index_name,
        ...(params.prefix ? { prefix: params.prefix } : {}),
        overwrite: 'if_changed',
        idempotency_key,
        automation_id: a.id,
      });
      if (!r.job_id) throw new CloudportError('unexpected', 'the export service started no job');
      return r.job_id;
    }
    const r = await this.imports.start(a.org_id, {
      connector_id: a.connector_id,
      index: a.index_name,
      ...(params.prefix ? { prefix: params.prefix } : {}),
      ...(params.pattern ? { pattern: params.pattern } : {}),
      import_mode: params.import_mode ?? 'new_only',
      idempotency_key,
      automation_id: a.id,
    });
    return r.job_id!;
  }

  // ---- helpers ----

  private async row(org: string, id: string): Promise<AutomationRow> {
    const a = await this.store.getAutomation(org, id);
    if (!a) throw notFound('automation', id, 'automation_id', 'list_automations shows the automations that exist.');
    return norm(a);
  }

  private async connector(org: string, id: string): Promise<ConnectorRow> {
    const c = await this.store.getConnector(org, id);
    if (!c) throw notFound('connector', id, 'connector_id', 'list_connectors shows the connectors that exist.');
    return c;
  }

  private checkConnector(c: ConnectorRow, kind: AutomationKind): void {
    if (c.status === 'ARCHIVED') throw new CloudportError('conflict', `connector ${c.id} is ARCHIVED, which is final`, { field: 'connector_id', fix: 'Use an ACTIVE connector.' });
    if (!(JSON.parse(c.scopes) as string[]).includes(kind)) {
      throw new CloudportError('permission_denied', `connector ${c.id} lacks the ${kind} scope`, { field: 'connector_id', fix: `Add it with update_connector {scopes: [..., "${kind}"]}.` });
    }
  }

  private checkParams(kind: AutomationKind, input: AutomationParams): AutomationParams {
    if (kind === 'export') {
      // An export run writes every item under prefix: the index's items have no glob or mode to pick them by.
      if (input.pattern) throw invalid('pattern', 'pattern applies to import automations only', 'Drop pattern; an export automation writes the items under prefix (give prefix to narrow it).');
      if (input.import_mode) throw invalid('import_mode', 'import_mode applies to import automations only', 'Drop import_mode; each export run writes the items that are new or changed since the last run (overwrite "if_changed").');
      return input.prefix ? { prefix: input.prefix } : {};
    }
    compileFilter(input.prefix ?? '', input.pattern || undefined);
    return {
      ...(input.prefix ? { prefix: input.prefix } : {}),
      ...(input.pattern ? { pattern: input.pattern } : {}),
      import_mode: input.import_mode ?? 'new_only',
    };
  }

  private async pauseReason(a: AutomationRow, c: ConnectorRow | null): Promise<string | null> {
    if (!c) return 'its connector was deleted';
    // The reason says what brings it back, since list_automations is where an agent sees it.
    if (c.status === 'ARCHIVED') return `connector ${c.id} is ARCHIVED, which is final: delete this automation (delete_automation) and create one on an ACTIVE connector`;
    if (c.status === 'FAILED') return `connector ${c.id} is FAILED${c.last_error ? ` (${c.last_error.slice(0, 200)})` : ''}; a passing test_connector makes it ACTIVE and the automation resumes`;
    if (c.status !== 'ACTIVE') return `connector ${c.id} is ${c.status}; update_connector {status: "ACTIVE"} resumes it`;
    if (!(JSON.parse(c.scopes) as string[]).includes(a.kind)) return `connector ${c.id} lacks the ${a.kind} scope; update_connector {scopes: [..., "${a.kind}"]} resumes it`;
    if (a.kind === 'export' && this.opts.exportsEnabled === false) return 'this server runs no export automation (--toolsets without exports): a process of the store with exports (a cloudport worker) runs it, else it waits';
    // An export run of an index that is gone (delete_index) would only fail: the automation waits for it.
    if (a.kind === 'export' && !(await this.exportSourceNow(a.org_id, a.index_name))) return `its index ${a.index_name} does not exist (deleted, or nothing imported yet); it resumes once an import fills it`;
    return null;
  }

  /** The index exists, or a queued or running job is creating it. */
  private async exportSourceNow(org: string, index: string): Promise<boolean> {
    return (await this.store.indexExists(org, index)) || (await this.store.countActiveJobsForIndex(org, index)) > 0;
  }

  private resumeFix(a: AutomationRow, c: ConnectorRow): string {
    if (a.kind === 'export' && this.opts.exportsEnabled === false) return 'Run a server with exports in --toolsets, or a cloudport worker, on this store.';
    if (c.status === 'ACTIVE' && a.kind === 'export' && (JSON.parse(c.scopes) as string[]).includes('export')) {
      return `Import into ${a.index_name} (start_import, or an import automation into it) and this automation resumes; or delete it (delete_automation).`;
    }
    if (c.status === 'SUSPENDED') return 'Resume the connector with update_connector {status: "ACTIVE"}; the automation resumes with it.';
    if (c.status === 'FAILED') return `Fix the cause (${c.last_error ?? 'see last_error'}) and run test_connector; a passing test makes it ACTIVE and the automation resumes.`;
    if (c.status === 'ARCHIVED') return 'ARCHIVED is final: delete this automation and create one on an ACTIVE connector.';
    return `Add the ${a.kind} scope: update_connector {connector_id: ${JSON.stringify(c.id)}, scopes: [..., "${a.kind}"]}; the automation resumes with it.`;
  }

  private async view(row: AutomationRow, c: ConnectorRow | null): Promise<AutomationView> {
    const a = norm(row);
    const p = JSON.parse(a.params) as AutomationParams;
    const reason = await this.pauseReason(a, c);
    const enabled = a.enabled === 1;
    const last = a.last_job_id ? await this.store.getJob(a.org_id, a.last_job_id) : null;
    return {
      id: a.id,
      name: a.name,
      kind: a.kind as AutomationKind,
      connector_id: a.connector_id,
      index: a.index_name,
      prefix: p.prefix ?? null,
      pattern: p.pattern ?? null,
      import_mode: a.kind === 'import' ? (p.import_mode ?? 'new_only') : null,
      schedule: a.schedule,
      enabled,
      state: !enabled ? 'disabled' : reason ? 'paused' : 'active',
      paused_reason: enabled ? reason : null,
      next_run_at: enabled && a.next_run_at < NO_NEXT_RUN ? iso(a.next_run_at) : null,
      last_run_at: a.last_run_at,
      last_job_id: a.last_job_id,
      last_status: (last?.status as JobState | undefined) ?? null,
      last_reason: last ? jobReason(last) : null,
      last_error: a.last_error,
      runs: a.runs,
      skipped: a.skipped,
      updated_at: a.updated_at,
    };
  }
}
