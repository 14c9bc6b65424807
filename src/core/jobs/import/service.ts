import { CloudportError, asCloudportError, invalid } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { ConnectorRow, JobRow, JobState, ListedFile, Store } from '../../../store/types.js';
import type { JobEngine } from '../engine.js';
import { requireUsable, FAIL_AFTER, type ConnectorService } from '../../connectors/service.js';
import type { ProviderPool } from '../../connectors/provider-pool.js';
import { compileFilter } from '../../domain/filter.js';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from '../../domain/retry.js';
import { explainNoMatch, noMatchError, noMatchText } from '../../domain/nomatch.js';
import { checkIndexName } from '../../domain/index-names.js';
import { FINAL_STATES } from '../kinds.js';
import { checkReplay, earlierJob, idempotencyHash } from '../idempotency.js';
import { FIRST_LISTING_FILES, FIRST_LISTING_MS, failedSample, jobLog, newJobRow, startLine } from '../common.js';
import { countSkipped, withCompacted, type ListingState } from '../listing-state.js';
import type { JobViews } from '../views.js';
import { applyMode, isMissing, select, selectionOf, statKeys, type JobParams } from './selection.js';

/**
 * start_import: checks the arguments, lists the first page(s) and creates the job (or answers a dry
 * run, or replays the job of an idempotency key). The job's work runs in ImportHandler.
 */
export interface StartImportInput {
  connector_id?: string;
  index?: string;
  prefix?: string;
  pattern?: string;
  keys?: string[];
  import_mode?: 'all' | 'new_only';
  dedupe?: boolean;
  exclude?: string[];
  min_size?: number;
  max_size?: number;
  modified_after?: string;
  idempotency_key?: string;
  dry_run?: boolean;
  retry_of?: string;
  /** Set by the automation scheduler (not a tool input): the job belongs to this automation. */
  automation_id?: string;
}

export interface StartImportResult {
  /** null for a dry run. */
  job_id: string | null;
  status: JobState | null;
  accepted: number;
  /** Bytes of the accepted files (so far, while the listing continues). */
  bytes: number;
  skipped: number;
  sample: string[];
  /** Files that failed (at listing, or since for an existing job): all of them counted, the first 20 in failed_files. */
  failed: number;
  failed_files: { key: string; error: string }[];
  listing_complete: boolean;
  /** True when an earlier call with the same idempotency_key created this job. */
  replayed?: boolean;
  /** Set when nothing matched (a dry run, or an automation's run): why, with hints from the listing. */
  hint?: string;
  /** What the skipped files are when not all are unchanged ones (folder markers named in keys). */
  skipped_why?: string;
}

export class ImportService {
  private engine?: JobEngine;
  private readonly retry: RetryPolicy;

  constructor(
    private readonly store: Store,
    private readonly pool: ProviderPool,
    private readonly connectors: ConnectorService,
    private readonly views: JobViews,
    retry?: RetryPolicy,
  ) {
    this.retry = retry ?? DEFAULT_RETRY;
  }

  attach(engine: JobEngine): void {
    this.engine = engine;
  }

  async start(org: string, input: StartImportInput): Promise<StartImportResult> {
    if (input.retry_of) return this.retryFailed(org, input);
    if (!input.connector_id) throw invalid('connector_id', 'connector_id is required', 'Give the connector to import from (list_connectors shows them).');
    if (!input.index) throw invalid('index', 'index is required', 'Name the local index to import into, e.g. "contracts".');
    const hash = idempotencyHash('import', input);
    const earlier = await earlierJob(this.store, org, input.idempotency_key, input.dry_run);
    if (earlier) return this.replay(earlier, hash);
    const c = await this.connectors.get(org, input.connector_id);
    requireUsable(c, 'import');
    const index = checkIndexName(input.index);
    if (input.keys && (input.prefix || input.pattern)) throw invalid('keys', 'give either keys or prefix/pattern, not both', 'Use keys for an explicit list, or prefix + pattern to select by listing.');
    if (input.keys && (input.exclude || input.min_size !== undefined || input.max_size !== undefined || input.modified_after)) {
      throw invalid('keys', 'exclude, min_size, max_size and modified_after filter a listing; they do not apply to explicit keys', 'Drop the filters, or select by prefix/pattern instead of keys.');
    }
    if (input.min_size !== undefined && input.max_size !== undefined && input.min_size > input.max_size) throw invalid('min_size', 'min_size is larger than max_size', 'Give min_size at most max_size (both in bytes), or leave one out.');
    if (input.modified_after !== undefined && !isCalendarDate(input.modified_after)) {
      throw invalid('modified_after', `modified_after ${JSON.stringify(input.modified_after)} is not a date`, 'Use ISO 8601, e.g. "2025-01-31" or "2025-01-31T12:00:00Z".');
    }
    const params: JobParams = {
      prefix: input.prefix ?? '',
      pattern: input.pattern ?? null,
      explicit: !!input.keys,
      mode: input.import_mode ?? (c.import_mode as 'all' | 'new_only'),
      dedupe: input.dedupe ?? true,
      ...(input.exclude?.length ? { exclude: input.exclude } : {}),
      ...(input.min_size !== undefined ? { min_size: input.min_size } : {}),
      ...(input.max_size !== undefined ? { max_size: input.max_size } : {}),
      ...(input.modified_after ? { modified_after: new Date(input.modified_after).toISOString() } : {}),
    };
    // A connector that also receives exports holds cloudport's copies under its export_base_path: an import
    // of the bucket leaves them out (else each import-then-export round nests another copy), unless the
    // selection itself starts inside that path.
    const base = c.export_base_path;
    if (!input.keys && base && (JSON.parse(c.scopes) as string[]).includes('export') && !compileFilter(params.prefix, params.pattern ?? undefined, params.exclude).listPrefix.startsWith(base)) {
      params.skip_prefix = base;
    }
    return this.create(org, c, index, params, input.keys, { dryRun: !!input.dry_run, idempotencyKey: input.idempotency_key, hash, automationId: input.automation_id });
  }

  /** retry_of: a new job over the failed files of an earlier one (same connector and index unless given). */
  private async retryFailed(org: string, input: StartImportInput): Promise<StartImportResult> {
    if (input.keys || input.prefix || input.pattern) {
      throw invalid(
        'retry_of',
        'retry_of takes the failed files of that job; do not give keys, prefix or pattern with it',
        `Send start_import {retry_of: ${JSON.stringify(input.retry_of)}} alone to retry that job's failed files, or drop retry_of to import by keys, prefix or pattern.`,
      );
    }
    const old = await this.views.getJob(org, input.retry_of!, 'retry_of');
    if (old.kind !== 'import') {
      throw invalid(
        'retry_of',
        `job ${old.id} is ${old.kind === 'export' ? 'an export' : `a ${old.kind}`}, not an import`,
        old.kind === 'export'
          ? 'Retry an export\'s failed files with start_export {keys: [...]} (import_status files_status "failed" lists them).'
          : (JSON.parse(old.params) as { all?: boolean }).all
            ? `Run reindex_index {index: ${JSON.stringify(old.index_name)}, all: true} again: it extracts every item again.`
            : `Run reindex_index {index: ${JSON.stringify(old.index_name)}} again: it extracts what is still missing.`,
      );
    }
    if (!FINAL_STATES.has(old.status)) throw new CloudportError('conflict', `job ${old.id} is still ${old.status}`, { field: 'retry_of', fix: 'Wait until it is final (import_status), then retry its failed files.' });
    if (input.connector_id && input.connector_id !== old.connector_id) throw invalid('connector_id', `job ${old.id} imported from ${old.connector_id}; retry_of uses the same connector`, `Drop connector_id (retry_of retries from ${old.connector_id}), or start a new import without retry_of to use ${input.connector_id}.`);
    // A retry reads from the job's connector: one deleted since cannot serve it, whatever is left to retry.
    const source = await this.store.getConnector(org, old.connector_id);
    if (!source || source.status === 'ARCHIVED') {
      throw new CloudportError('conflict', `job ${old.id}'s connector ${old.connector_id} ${source ? 'is ARCHIVED (final)' : 'was deleted'}`, {
        field: 'retry_of',
        fix: `Connect the bucket again (create_connector), then give its new connector_id to start_import with the job's selection, ${selectionArgs(old, false)}, to import what the index lacks.`,
      });
    }
    const keys: string[] = [];
    for (let after = 0; ; ) {
      const rows = await this.store.listJobFiles(old.id, { status: 'failed', afterId: after, limit: 1000 });
      keys.push(...rows.map((r) => r.key));
      if (rows.length < 1000) break;
      after = rows[rows.length - 1]!.id;
    }
    if (!keys.length) {
      throw new CloudportError('conflict', `job ${old.id} has no failed files to retry${old.status === 'canceled' ? ' (it was canceled: its files not yet worked were never tried)' : ''}`, {
        field: 'retry_of',
        fix: `${sameSelection(old)} imports whatever the index still lacks of that job's selection.`,
      });
    }
    const params = { ...(JSON.parse(old.params) as JobParams), explicit: true, retry_of: old.id };
    const hash = idempotencyHash('import', input);
    const earlier = await earlierJob(this.store, org, input.idempotency_key, input.dry_run);
    if (earlier) return this.replay(earlier, hash);
    // Without a key of the caller's, a job is retried once: the key "retry_of:<job>" (unique per org, as
    // every idempotency key) makes a second call, or two at once, answer the one retry job. A job of the
    // caller's that took that key for something else is no retry: then no key is used.
    const isRetry = (j: JobRow) => j.kind === 'import' && (JSON.parse(j.params) as JobParams).retry_of === old.id;
    let retryKey = input.idempotency_key ? undefined : `retry_of:${old.id}`;
    const index = input.index ? checkIndexName(input.index) : old.index_name;
    const prior = retryKey && !input.dry_run ? await this.store.findJobByIdempotencyKey(org, retryKey) : null;
    if (prior && isRetry(prior)) return this.priorRetry(prior, old, index);
    if (prior) retryKey = undefined;
    const c = await this.connectors.get(org, old.connector_id);
    // The same checks as every other start: status (with its fix) and the import scope.
    requireUsable(c, 'import');
    const opts = { dryRun: !!input.dry_run, idempotencyKey: input.idempotency_key, hash };
    if (!retryKey) return this.create(org, c, index, params, keys, opts);
    return this.create(org, c, index, params, keys, {
      ...opts,
      idempotencyKey: retryKey,
      // Another call took the key first: its retry job answers (or, were it no retry, this one goes without a key).
      existing: (job: JobRow) => (isRetry(job) ? this.priorRetry(job, old, index) : this.create(org, c, index, params, keys, opts)),
    });
  }

  /**
   * A job that already retried `old`: while it is queued or running it is the answer; once final, the
   * files that still fail are its own, so the error names it for the next retry.
   */
  private async priorRetry(prior: JobRow, old: JobRow, index: string): Promise<StartImportResult> {
    if (prior.index_name !== index) {
      throw new CloudportError('conflict', `job ${prior.id} already retries job ${old.id}'s failed files, into index ${prior.index_name}`, {
        field: 'index',
        fix: FINAL_STATES.has(prior.status) ? `start_import {retry_of: "${prior.id}"} retries what still fails.` : `Follow job ${prior.id} with import_status.`,
      });
    }
    if (!FINAL_STATES.has(prior.status)) {
      const r = await this.replay(prior, null);
      return { ...r, hint: `Job ${prior.id} already retries job ${old.id}'s failed files: follow it with import_status.` };
    }
    const failed = withCompacted(prior, (await this.store.jobProgress(prior.id)).counts).failed;
    const canceled = prior.status === 'canceled' ? '; it was canceled, so its files not yet worked were never tried' : '';
    throw new CloudportError('conflict', `job ${old.id}'s failed files were retried by job ${prior.id} (${prior.status}, ${failed} failed${canceled})`, {
      field: 'retry_of',
      fix:
        (failed ? `start_import {retry_of: "${prior.id}"} retries the files that still fail.` : `Nothing of job ${old.id} is left to retry.`) +
        (canceled ? ' start_import over the same selection with import_mode "new_only" imports whatever the index still lacks.' : ''),
    });
  }

  /** `hash` null: the job is answered whatever the arguments were (priorRetry has compared what matters). */
  private async replay(job: JobRow, hash: string | null): Promise<StartImportResult> {
    if (hash !== null) checkReplay(job, hash, 'import');
    const p = await this.store.jobProgress(job.id);
    const failed = await this.store.listJobFiles(job.id, { status: 'failed', limit: 1000 });
    const sample = await this.store.listJobFiles(job.id, { limit: 25 });
    const c = withCompacted(job, p.counts);
    // As the first answer counted: files refused at listing (failed, never claimed) were not accepted.
    const refused = (f: { status: string; attempts: number }) => f.status === 'failed' && f.attempts === 0;
    return {
      job_id: job.id,
      status: job.status as JobState,
      accepted: c.pending + c.ready + c.deduped + c.failed + c.canceled - failed.filter(refused).length,
      bytes: p.bytes_total,
      skipped: c.skipped,
      sample: sample.filter((f) => f.status !== 'skipped' && !refused(f)).slice(0, 5).map((f) => f.key),
      failed: c.failed,
      failed_files: failed.slice(0, 20).map((f) => ({ key: f.key, error: f.error ?? 'failed' })),
      listing_complete: job.listing_complete === 1,
      replayed: true,
    };
  }

  private async create(
    org: string,
    c: ConnectorRow,
    index: string,
    params: JobParams,
    keys: string[] | undefined,
    opts: { dryRun: boolean; idempotencyKey?: string; hash: string; automationId?: string; existing?: (job: JobRow) => Promise<StartImportResult>; rejudged?: boolean },
  ): Promise<StartImportResult> {
    const filter = compileFilter(params.prefix, params.pattern ?? undefined, params.exclude, params.skip_prefix);
    /** What the selection takes without leaving out export_base_path: the objects it left out are counted by it. */
    const unskipped = params.skip_prefix ? compileFilter(params.prefix, params.pattern ?? undefined, params.exclude) : null;
    const provider = await this.pool.get(c);
    const id = newId('imp');
    const now = new Date().toISOString();
    let files: ListedFile[];
    /** Every file the first listing found, with the skipped ones countSkipped leaves out of `files`. */
    let listed: ListedFile[] | null = null;
    let state: string | null = null;
    let complete = true;
    let token: string | null = null;
    /** The first listing was throttled past this call's budget: it goes on in the background. */
    let throttled = false;
    /** Objects of the first pages under the connector's export_base_path (params.skip_prefix), left out. */
    let leftOut = 0;
    /** new_only skipped files as imported before: judged against the index as it is now. */
    let seenSkips = false;
    try {
      if (keys) {
        files = await statKeys(org, provider, keys, this.retry);
        // Not one of the keys is in the bucket: no job, as for a listing that selects nothing (a job
        // announced as queued would only end failed). An automation's run still records its job.
        if (!opts.dryRun && !opts.automationId && files.length > 0 && files.every(isMissing)) {
          const retried = params.retry_of;
          throw new CloudportError('not_found', `none of the ${files.length} key(s) ${retried ? `that failed in job ${retried} ` : ''}is in the bucket: ${files[0]!.key}: ${files[0]!.error}`, {
            field: retried ? 'retry_of' : 'keys',
            fix: retried
              ? 'Nothing can be retried: those keys are not in the bucket (now or at the first try). browse_connector {prefix} shows what the bucket holds now; start_import {keys} imports other keys.'
              : 'Keys are exact and case-sensitive, without a leading /: browse_connector {prefix} shows them (start_import {dry_run: true} checks a list first).',
          });
        }
      } else {
        files = [];
        const deadline = Date.now() + FIRST_LISTING_MS;
        do {
          let page;
          try {
            page = await withRetry(() => provider.list({ prefix: filter.listPrefix, token, maxKeys: 1000 }), this.retry);
          } catch (e) {
            // Throttled past this call's budget: the job starts anyway, and its listing goes on in the
            // background, where throttling has a larger budget (a dry run has no background to go on in).
            if (opts.dryRun || asCloudportError(e).kind !== 'rate_limited') throw e;
            throttled = true;
            break;
          }
          files.push(...select(page.objects, filter, params));
          if (params.skip_prefix) leftOut += page.objects.filter((o) => o.key.startsWith(params.skip_prefix!) && unskipped!.matches(o.key)).length;
          token = page.nextToken;
        } while (token && Date.now() < deadline && files.length < FIRST_LISTING_FILES);
        complete = !throttled && token === null;
      }
      files = await applyMode(this.store, files, params, org, c.id, index);
      seenSkips = files.some((f) => f.status === 'skipped' && !f.error);
      if (!keys) {
        const st: ListingState = { t: token, m: files.length };
        listed = files;
        files = countSkipped(files, st);
        state = JSON.stringify(st);
      }
    } catch (e) {
      const err = asCloudportError(e);
      // Throttling is the service asking to slow down, not the connector failing: it never counts.
      if (!opts.dryRun && err.kind !== 'rate_limited') await this.store.recordHealth(org, c.id, { ok: false, error: `import listing failed: ${err.message}`, failAfter: FAIL_AFTER, now });
      throw err;
    }
    // A complete listing that selected nothing is never a silent success: start_import answers not_found
    // with hints and creates no job; a dry run says so in `hint`; an automation's run is a job that ends
    // with the reason (a watched folder that is empty now is not an error of the automation).
    let none: string | null = null;
    if (listed && listed.length === 0 && complete && leftOut && !opts.dryRun && !opts.automationId) {
      throw new CloudportError('not_found', `every object the selection lists (${leftOut}) is under the connector's export_base_path ${JSON.stringify(params.skip_prefix)}, where cloudport exports, and imports leave those out`, {
        field: 'prefix',
        fix: `start_import {prefix: ${JSON.stringify(params.skip_prefix)}} imports them (a selection that starts inside export_base_path keeps them).`,
      });
    }
    if (listed && listed.length === 0 && complete) {
      const why = await explainNoMatch(provider, selectionOf(params));
      if (!opts.dryRun && !opts.automationId) throw noMatchError(why);
      none = noMatchText(why);
      if (!opts.dryRun) state = JSON.stringify({ ...(JSON.parse(state!) as ListingState), none });
    }
    const accepted = files.filter((f) => !f.status);
    const result: StartImportResult = {
      job_id: opts.dryRun ? null : id,
      status: opts.dryRun ? null : 'queued',
      accepted: accepted.length,
      bytes: accepted.reduce((n, f) => n + (f.size ?? 0), 0),
      skipped: (listed ?? files).filter((f) => f.status === 'skipped').length,
      ...(files.some((f) => f.status === 'skipped' && f.error) ? { skipped_why: files.some((f) => f.status === 'skipped' && !f.error) ? 'unchanged, or folder markers' : 'folder markers' } : {}),
      sample: accepted.slice(0, 5).map((f) => f.key),
      failed: files.filter((f) => f.status === 'failed').length,
      failed_files: failedSample(files),
      listing_complete: complete,
      ...(none ? { hint: none } : throttled ? { hint: 'The service throttled the listing: it goes on in the background, and import_status follows it.' } : {}),
    };
    if (leftOut) {
      const said = `${leftOut}${complete ? '' : '+'} object(s) under the connector's export_base_path ${JSON.stringify(params.skip_prefix)} (where cloudport exports) are left out; start_import {prefix: ${JSON.stringify(params.skip_prefix)}} imports them.`;
      result.hint = result.hint ? `${result.hint} ${said}` : said;
    }
    if (opts.dryRun) return result;
    if (this.engine && !this.engine.runsWork && !none) result.hint = `${result.hint ? `${result.hint} ` : ''}This server runs no job work (--workers 0): a cloudport worker on the same store takes the job; if none runs, start one.`;
    try {
      const created = await this.store.createJob(
        newJobRow({ id, org, kind: 'import', connectorId: c.id, index, params, listingState: state, complete, now, idempotencyKey: opts.idempotencyKey, hash: opts.hash, automationId: opts.automationId }),
        files,
        startLine(org, `import started into index ${index}: ${accepted.length} files queued${complete ? '' : ` so far (listing continues${throttled ? ', after the service throttled it' : ''})`}${params.retry_of ? ` (retry of ${params.retry_of})` : ''}${opts.automationId ? ` by automation ${opts.automationId}` : ''}${none ? `; ${none}` : ''}`),
        { indexMustExist: seenSkips && !opts.rejudged },
      );
      // The index was deleted after new_only judged files unchanged against it: judged again, they are new.
      if (!created) return this.create(org, c, index, params, keys, { ...opts, rejudged: true });
    } catch (e) {
      // Two calls with one idempotency key raced: the other one created the job.
      const earlier = opts.idempotencyKey ? await this.store.findJobByIdempotencyKey(org, opts.idempotencyKey) : null;
      if (earlier) return opts.existing ? opts.existing(earlier) : this.replay(earlier, opts.hash);
      throw e;
    }
    this.engine?.wake();
    return result;
  }
}

/** The start_import call that selects what a job selected, new_only, written out: no tool shows a job's selection. */
function sameSelection(job: JobRow): string {
  return `start_import ${selectionArgs(job, true)}`;
}

/** A job's selection as start_import arguments (new_only), with or without its connector. */
function selectionArgs(job: JobRow, withConnector: boolean): string {
  const p = JSON.parse(job.params) as JobParams;
  if (p.explicit) return `{${withConnector ? `connector_id: ${JSON.stringify(job.connector_id)}, ` : ''}index: ${JSON.stringify(job.index_name)}, keys: [the same keys], import_mode: "new_only"}`;
  const args = {
    ...(withConnector ? { connector_id: job.connector_id } : {}),
    index: job.index_name,
    ...(p.prefix ? { prefix: p.prefix } : {}),
    ...(p.pattern ? { pattern: p.pattern } : {}),
    ...(p.exclude?.length ? { exclude: p.exclude } : {}),
    ...(p.min_size !== undefined ? { min_size: p.min_size } : {}),
    ...(p.max_size !== undefined ? { max_size: p.max_size } : {}),
    ...(p.modified_after ? { modified_after: p.modified_after } : {}),
    import_mode: 'new_only',
  };
  return JSON.stringify(args);
}

/**
 * An ISO 8601 date or date-time whose day exists: Date.parse alone takes "2025-02-30" as March 2 and
 * "1" as the year 2001.
 */
function isCalendarDate(v: string): boolean {
  const m = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i.exec(v.trim());
  if (!m || Number.isNaN(Date.parse(v))) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d && (m[4] === undefined || (Number(m[4]) < 24 && Number(m[5]) < 60 && Number(m[6] ?? 0) < 60));
}
